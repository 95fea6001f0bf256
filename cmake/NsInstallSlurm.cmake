# NsInstallSlurm.cmake - run by `cmake --install` after the batch scripts are
# copied: writes the install directories into them, so an installed
# normsweep.sbatch finds P/bin/normsweep and array.sbatch finds
# normsweep.sbatch, whatever --prefix (and DESTDIR) the install used.
# NS_BINDIR and NS_SLURMDIR (relative to the prefix) are set by CMakeLists.txt.
set(_prefix "${CMAKE_INSTALL_PREFIX}")
set(_slurm "$ENV{DESTDIR}${_prefix}/${NS_SLURMDIR}")
foreach(f normsweep.sbatch array.sbatch)
  file(READ "${_slurm}/${f}" _text)
  string(REPLACE "@NS_INSTALL_BINDIR@" "${_prefix}/${NS_BINDIR}" _text "${_text}")
  string(REPLACE "@NS_INSTALL_SLURMDIR@" "${_prefix}/${NS_SLURMDIR}" _text "${_text}")
  file(WRITE "${_slurm}/${f}" "${_text}")
  message(STATUS "Configured: ${_slurm}/${f}")
endforeach()
