# `cmake --install` (GNUInstallDirs) and the Debian package (CPack DEB).
#
#   bin/     ntpsim, refbench          sbin/  refd, ntpnetem (when built)
#   lib/     libntpcore.a, pkgconfig/ntpcore.pc
#   include/ntplab/   the core's headers
#   share/ntplab/     plots/ (found by ntpsim next to its binary), scenarios/
#   share/man/        ntpsim.1, refd.8, ntpnetem.8 (from docs/*.md, go-md2man)
#   share/doc/ntplab/ README.md, LICENSE, docs/
#   lib/systemd/system/refd.service, and /etc/ntplab/refd.conf (a conffile)
# The package test (tests/install/test_package.sh) builds the .deb, installs
# it into a throwaway root with dpkg and runs the tools from there.

set(NTPLAB_DATADIR ${CMAKE_INSTALL_DATADIR}/ntplab)

install(TARGETS ntpsim refbench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS refd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
if(TARGET ntpnetem)
  install(TARGETS ntpnetem RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
endif()

# libntpcore for programs of others: the static library, its headers and a
# pkg-config file (`pkg-config --cflags --libs ntpcore`).
install(TARGETS ntpcore ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
file(GLOB NTPCORE_HEADERS ${CMAKE_SOURCE_DIR}/core/*.h)
install(FILES ${NTPCORE_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ntplab)
configure_file(${CMAKE_SOURCE_DIR}/dist/ntpcore.pc.in ${CMAKE_BINARY_DIR}/ntpcore.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/ntpcore.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(DIRECTORY ${CMAKE_SOURCE_DIR}/plots/ DESTINATION ${NTPLAB_DATADIR}/plots
        FILES_MATCHING PATTERN "*.gp")
install(DIRECTORY ${CMAKE_SOURCE_DIR}/scenarios/ DESTINATION ${NTPLAB_DATADIR}/scenarios
        FILES_MATCHING PATTERN "*.yaml" PATTERN "*.md")
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/LICENSE
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# Man pages, generated from docs/NAME.N.md when go-md2man is installed.
find_program(GO_MD2MAN go-md2man)
if(GO_MD2MAN)
  set(NTPLAB_MAN_PAGES ntpsim.1 refd.8)
  if(TARGET ntpnetem)
    list(APPEND NTPLAB_MAN_PAGES ntpnetem.8)
  endif()
  set(man_outputs "")
  foreach(page ${NTPLAB_MAN_PAGES})
    string(REGEX MATCH "[1-8]$" section ${page})
    add_custom_command(
      OUTPUT ${CMAKE_BINARY_DIR}/man/${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND ${CMAKE_SOURCE_DIR}/scripts/md2man.sh ${CMAKE_SOURCE_DIR}/docs/${page}.md
              ${CMAKE_BINARY_DIR}/man/${page} ${PROJECT_VERSION}
      DEPENDS ${CMAKE_SOURCE_DIR}/docs/${page}.md ${CMAKE_SOURCE_DIR}/scripts/md2man.sh
      COMMENT "man page ${page}")
    list(APPEND man_outputs ${CMAKE_BINARY_DIR}/man/${page})
    install(FILES ${CMAKE_BINARY_DIR}/man/${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endforeach()
  add_custom_target(man ALL DEPENDS ${man_outputs})
else()
  message(STATUS "go-md2man not found: no man pages (apt-get install go-md2man)")
endif()

# The systemd unit and the configuration it runs.
set(REFD_BIN ${CMAKE_INSTALL_FULL_SBINDIR}/refd)
set(REFD_CONF ${CMAKE_INSTALL_FULL_SYSCONFDIR}/ntplab/refd.conf)
configure_file(${CMAKE_SOURCE_DIR}/dist/refd.service.in ${CMAKE_BINARY_DIR}/refd.service @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/refd.service DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/dist/refd.conf DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/ntplab)

# `cpack -G DEB` in the build folder: build/ntplab_VERSION_ARCH.deb.
set(CPACK_PACKAGE_NAME ntplab)
set(CPACK_PACKAGE_VENDOR "the ntplab developers")
set(CPACK_PACKAGE_CONTACT "ntplab developers <ntplab@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "NTP simulator (ntpsim) and reference NTP daemon (refd)")
set(CPACK_PACKAGE_DESCRIPTION
    "ntplab runs one pure NTP core (RFC 5905) in two worlds: ntpsim, a deterministic\
 discrete-event simulator of NTP networks judged by each scenario's checks, and\
 refd, a real UDP NTP daemon that keeps a virtual clock unless told otherwise.")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # Depends from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "gnuplot-nox")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "ntpsec-ntpdig, tshark")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# dpkg keeps an administrator's edits of refd.conf across upgrades
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "${REFD_CONF}\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/conffiles)
include(CPack)
