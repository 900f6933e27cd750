# jansson (JSON headers of model files) as the target PkgConfig::JANSSON: through pkg-config
# when it is installed, else found by its header and library under CMAKE_PREFIX_PATH (or
# JANSSON_ROOT), for machines without pkg-config such as the lent GPU machine with the bundle
# of scripts/gpu-bundle.sh. Used by the build and by the installed devoConfig.cmake.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(JANSSON QUIET IMPORTED_TARGET jansson)
endif()
if(NOT TARGET PkgConfig::JANSSON)
  find_path(JANSSON_INCLUDE_DIR jansson.h HINTS ${JANSSON_ROOT} PATH_SUFFIXES include REQUIRED)
  find_library(JANSSON_LIBRARY NAMES jansson HINTS ${JANSSON_ROOT} PATH_SUFFIXES lib REQUIRED)
  add_library(PkgConfig::JANSSON INTERFACE IMPORTED)
  set_target_properties(PkgConfig::JANSSON PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${JANSSON_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${JANSSON_LIBRARY}")
endif()
