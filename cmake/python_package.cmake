# The Python package's install (pyproject.toml, scikit-build-core): libdevo and devo.h into the
# package folder `devo/` (the install prefix), in the component "python". The package loads the
# library through ctypes; its tests compile devo.h to check the mirrored structs.
install(TARGETS devo LIBRARY DESTINATION . COMPONENT python)
install(FILES ${PROJECT_SOURCE_DIR}/include/devo.h DESTINATION include COMPONENT python)
if(DEVO_CUDA)
  # cuBLAS is found where the toolkit is, wherever the package is installed.
  set_target_properties(devo PROPERTIES INSTALL_RPATH "${CUDAToolkit_LIBRARY_DIR}")
endif()
