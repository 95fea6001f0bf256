# env.sh - sourced by the scripts: settings Open MPI needs on this kind of machine.
# Open MPI refuses to run as root without these two (CI runs as root); ordinary
# users are unaffected because they are only set for root.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Debian's Python modules (h5py, numpy, matplotlib) belong to /usr/bin/python3;
# a python3 earlier on PATH (pyenv, conda) may not have them.
NS_PYTHON=/usr/bin/python3
