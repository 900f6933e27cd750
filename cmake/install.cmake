# Installation: the header, the shared and static libraries, the devo tool, exported CMake
# targets (devo::devo, devo::devo_static, and devo::devo_mpi with devo_mpi.h when MPI is built) with devoConfig.cmake and devoConfigVersion.cmake,
# and a relocatable devo.pc.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(devo_static PROPERTIES EXPORT_NAME devo_static)
set(devo_install_targets devo devo_static)
if(DEVO_CUDA)
  list(APPEND devo_install_targets devo_cuda)
endif()
if(DEVO_HAVE_MPI)
  list(APPEND devo_install_targets devo_mpi)
  install(FILES ${PROJECT_SOURCE_DIR}/include/devo_mpi.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()
install(TARGETS ${devo_install_targets} EXPORT devoTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS devo_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/devo.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(devo_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/devo)
install(EXPORT devoTargets NAMESPACE devo:: FILE devoTargets.cmake DESTINATION ${devo_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/devoConfig.cmake.in
  ${PROJECT_BINARY_DIR}/devoConfig.cmake INSTALL_DESTINATION ${devo_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/devoConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/devoConfig.cmake ${PROJECT_BINARY_DIR}/devoConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/devoJansson.cmake DESTINATION ${devo_cmake_dir})

# devo.pc finds its prefix from its own place, so the installed tree can be moved.
file(RELATIVE_PATH DEVO_PC_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" DEVO_PC_PREFIX "${DEVO_PC_PREFIX}")
set(DEVO_PC_CUDA_LIBS "")
if(DEVO_CUDA)
  set(DEVO_PC_CUDA_LIBS "-L${CUDAToolkit_LIBRARY_DIR} -lcublas -lcublasLt -lcudart_static -ldl -lrt")
endif()
set(DEVO_PC_ONEDNN_LIBS "")
if(DEVO_HAVE_ONEDNN)
  set(DEVO_PC_ONEDNN_LIBS "-ldnnl -lgomp")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/devo.pc.in ${PROJECT_BINARY_DIR}/devo.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/devo.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
