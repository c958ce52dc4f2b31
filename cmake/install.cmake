# install.cmake: install rules and CPack packaging (DEB, and RPM when rpmbuild is there).
# Included by the top-level CMakeLists.txt.
#
# Layout (prefix /usr for packages: configure with -DCMAKE_INSTALL_PREFIX=/usr):
#   ${prefix}/bin/hsm-audit-forwarder
#   /etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml      conffile / %config(noreplace), 0640
#   ${prefix}/lib/systemd/system/hsm-audit-forwarder.service   (/usr/lib/systemd/system: Debian 12
#                                                         is merged-/usr, and systemd also searches
#                                                         /usr/local/lib/systemd/system)
#   ${prefix}/share/man/man8/hsm-audit-forwarder.8(.gz), man5/hsm-audit-forwarder.yaml.5(.gz)
#   ${prefix}/share/doc/hsm-audit-forwarder/{cloudwatch/, hsm-audit-forwarder.yaml, README.md}
#
# The configuration goes to /etc whatever the prefix, because that is the path compiled into the
# binary as its default (CONFIG_DEFAULT_PATH). The unit names the binary by its installed path: the
# checked-in unit says /usr/bin, and a copy with ${CMAKE_INSTALL_FULL_BINDIR} is installed when the
# prefix differs. The state directory is not shipped: the maintainer scripts create it 0700 for the
# service user, and systemd's StateDirectory= would too.
include_guard(GLOBAL)

set(HAF_PKG_NAME hsm-audit-forwarder)
set(HAF_CONF_DIR /etc/${HAF_PKG_NAME} CACHE PATH "Where the configuration file is installed")
# Not CMAKE_INSTALL_LIBDIR: with prefix /usr on Debian that is lib/<triplet>, where units do not live.
set(HAF_SYSTEMD_UNIT_DIR lib/systemd/system
    CACHE STRING "Where the systemd unit is installed (relative: under the prefix)")
set(HAF_DOC_DIR ${CMAKE_INSTALL_DOCDIR})
if(NOT HAF_DOC_DIR MATCHES "${HAF_PKG_NAME}$")
    set(HAF_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/${HAF_PKG_NAME})
endif()

# ---- the binary ----
install(TARGETS hsm-audit-forwarder RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# ---- configuration: 0640; the maintainer scripts give it to the service's group ----
install(FILES ${CMAKE_SOURCE_DIR}/conf/hsm-audit-forwarder.yaml
    DESTINATION ${HAF_CONF_DIR}
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)

# ---- systemd unit, with the installed binary path ----
set(HAF_UNIT_SRC ${CMAKE_SOURCE_DIR}/systemd/hsm-audit-forwarder.service)
set(HAF_UNIT_OUT ${CMAKE_BINARY_DIR}/systemd/hsm-audit-forwarder.service)
file(READ ${HAF_UNIT_SRC} haf_unit_text)
string(REPLACE "/usr/bin/hsm-audit-forwarder" "${CMAKE_INSTALL_FULL_BINDIR}/hsm-audit-forwarder"
    haf_unit_text "${haf_unit_text}")
file(CONFIGURE OUTPUT ${HAF_UNIT_OUT} CONTENT "${haf_unit_text}" @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${HAF_UNIT_SRC})
install(FILES ${HAF_UNIT_OUT} DESTINATION ${HAF_SYSTEMD_UNIT_DIR})

# ---- man pages, gzipped (-9n: reproducible, as Debian policy asks) when gzip is there ----
find_program(HAF_GZIP gzip)
set(HAF_MAN_PAGES man8/hsm-audit-forwarder.8 man5/hsm-audit-forwarder.yaml.5)
set(haf_man_outputs)
foreach(page IN LISTS HAF_MAN_PAGES)
    get_filename_component(section_dir ${page} DIRECTORY)
    get_filename_component(name ${page} NAME)
    if(HAF_GZIP)
        set(out ${CMAKE_BINARY_DIR}/man/${name}.gz)
        add_custom_command(OUTPUT ${out}
            COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
            COMMAND ${HAF_GZIP} -9nc ${CMAKE_SOURCE_DIR}/man/${name} > ${out}
            DEPENDS ${CMAKE_SOURCE_DIR}/man/${name}
            COMMENT "Compressing man page ${name}"
            VERBATIM)
        list(APPEND haf_man_outputs ${out})
        install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/${section_dir})
    else()
        install(FILES ${CMAKE_SOURCE_DIR}/man/${name}
            DESTINATION ${CMAKE_INSTALL_MANDIR}/${section_dir})
    endif()
endforeach()
if(haf_man_outputs)
    add_custom_target(haf_manpages ALL DEPENDS ${haf_man_outputs})
endif()

# ---- documentation: CloudWatch filters, alarms and queries; the commented example ----
if(EXISTS ${CMAKE_SOURCE_DIR}/conf/cloudwatch)
    install(DIRECTORY ${CMAKE_SOURCE_DIR}/conf/cloudwatch/ DESTINATION ${HAF_DOC_DIR}/cloudwatch)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/conf/hsm-audit-forwarder.yaml DESTINATION ${HAF_DOC_DIR})
foreach(doc README.md LICENSE)
    if(EXISTS ${CMAKE_SOURCE_DIR}/${doc})
        install(FILES ${CMAKE_SOURCE_DIR}/${doc} DESTINATION ${HAF_DOC_DIR})
    endif()
endforeach()

# ---- CPack ----
set(CPACK_PACKAGE_NAME ${HAF_PKG_NAME})
set(CPACK_PACKAGE_VENDOR "hsm-audit-forwarder developers")
set(CPACK_PACKAGE_CONTACT "hsm-audit-forwarder developers <hsm-audit-forwarder@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Ships AWS CloudHSM audit log entries to Amazon CloudWatch Logs")
set(CPACK_PACKAGE_DESCRIPTION
    "hsm-audit-forwarder tails AWS CloudHSM HSM audit log files, parses each entry into a typed
JSON event and ships it to Amazon CloudWatch Logs with PutLogEvents (SigV4), never losing and
never duplicating an entry. It runs as an unprivileged, hardened systemd service.")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/")

find_program(HAF_RPMBUILD rpmbuild)
set(CPACK_GENERATOR DEB)
if(HAF_RPMBUILD)
    list(APPEND CPACK_GENERATOR RPM)
endif()

# DEB
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
find_program(HAF_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(HAF_DPKG_SHLIBDEPS)
    # Library dependencies computed from the binary (libcurl4, libjansson4, libyaml-0-2, libssl3,
    # libc6), with the versions it was linked against.
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
else()
    set(CPACK_DEBIAN_PACKAGE_DEPENDS
        "adduser, libc6, libcurl4, libjansson4, libyaml-0-2, libssl3")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/deb/postinst
    ${CMAKE_SOURCE_DIR}/packaging/deb/prerm
    ${CMAKE_SOURCE_DIR}/packaging/deb/postrm
    ${CMAKE_SOURCE_DIR}/packaging/deb/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# RPM
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_LICENSE "Apache-2.0")
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_REQUIRES_PRE "shadow-utils")
set(CPACK_RPM_PACKAGE_REQUIRES_POST "systemd")
set(CPACK_RPM_PRE_INSTALL_SCRIPT_FILE ${CMAKE_SOURCE_DIR}/packaging/rpm/pre.sh)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${CMAKE_SOURCE_DIR}/packaging/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${CMAKE_SOURCE_DIR}/packaging/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${CMAKE_SOURCE_DIR}/packaging/rpm/postun.sh)
set(CPACK_RPM_USER_FILELIST
    "%config(noreplace) %attr(0640,root,hsm-audit-forwarder) ${HAF_CONF_DIR}/hsm-audit-forwarder.yaml"
    "%dir ${HAF_CONF_DIR}")
# Directories owned by other packages (filesystem, systemd, man-db) must not be claimed.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /etc
    /usr/lib/systemd
    /usr/lib/systemd/system
    /usr/share/man
    /usr/share/man/man5
    /usr/share/man/man8
    /usr/share/doc)
# Debian's rpm has no debuginfo macros worth using here; keep the package self-contained.
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")

include(CPack)
