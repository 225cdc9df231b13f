# Install rules: headers, libraries, pto2-bench, a CMake package
# (pto2Config.cmake, pto2ConfigVersion.cmake, pto2Targets.cmake) and pto2.pc.
include(CMakePackageConfigHelpers)

set(PTO2_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/pto2)

install(DIRECTORY include/pto2 DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/include/pto2/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pto2)

set(PTO2_INSTALL_TARGETS pto2)
if(PTO2_BUILD_SHARED)
  list(APPEND PTO2_INSTALL_TARGETS pto2_shared)
endif()
install(TARGETS ${PTO2_INSTALL_TARGETS} EXPORT pto2Targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(PTO2_BUILD_TOOLS)
  install(TARGETS pto2-bench pto2-report RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(EXPORT pto2Targets NAMESPACE pto2:: DESTINATION ${PTO2_CMAKE_DIR})

configure_package_config_file(cmake/pto2Config.cmake.in
  ${PROJECT_BINARY_DIR}/pto2Config.cmake INSTALL_DESTINATION ${PTO2_CMAKE_DIR})
# 0.x: a minor release may change the API, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pto2ConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/pto2Config.cmake ${PROJECT_BINARY_DIR}/pto2ConfigVersion.cmake
        DESTINATION ${PTO2_CMAKE_DIR})

# pkg-config: written at install time, so that the prefix is the one
# installed to (`cmake --install build --prefix DIR` included).
install(CODE "
  set(PTO2_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/cmake/pto2.pc.in\" \"${PROJECT_BINARY_DIR}/pto2.pc\" @ONLY)
")
install(FILES ${PROJECT_BINARY_DIR}/pto2.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
