# install.cmake: install rules and CPack packaging (DEB, and RPM when rpmbuild is there).
# Included by the top-level CMakeLists.txt.
#
# Layout (${prefix} is CMAKE_INSTALL_PREFIX for `cmake --install`; packages are always /usr, whatever
# CMAKE_INSTALL_PREFIX says, because CPACK_PACKAGING_INSTALL_PREFIX is fixed to /usr below):
#   ${prefix}/bin/hsm-audit-forwarder
#   /etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml      conffile / %config(noreplace), 0640
#   ${prefix}/lib/systemd/system/hsm-audit-forwarder.service   (/usr/lib/systemd/system: Debian 12
#                                                         is merged-/usr, and systemd also searches
#                                                         /usr/local/lib/systemd/system)
#   ${prefix}/share/man/man8/hsm-audit-forwarder.8(.gz), man5/hsm-audit-forwarder.yaml.5(.gz)
#   ${prefix}/share/doc/hsm-audit-forwarder/{cloudwatch/, hsm-audit-forwarder.yaml, README.md,
#                                          copyright, changelog.gz}
#   ${prefix}/share/lintian/overrides/hsm-audit-forwarder   (each kept lintian tag with its reason)
#
# The configuration goes to /etc whatever the prefix, because that is the path compiled into the
# binary as its default (CONFIG_DEFAULT_PATH). The unit names the binary by its installed path: it
# is written at install time from the checked-in unit (which says /usr/bin) with the prefix the
# install really uses, so `cmake --install` into /usr/local gets /usr/local/bin and a package built
# from the same tree gets /usr/bin (CPack installs with CMAKE_INSTALL_PREFIX set to its packaging
# prefix). The state directory is not shipped: the maintainer scripts create it 0700 for the
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

# ---- systemd unit, with the installed binary path (decided at install time, see above) ----
set(HAF_UNIT_SRC ${CMAKE_SOURCE_DIR}/systemd/hsm-audit-forwarder.service)
set(HAF_UNIT_OUT ${CMAKE_BINARY_DIR}/systemd/hsm-audit-forwarder.service)
install(CODE "
    file(READ \"${HAF_UNIT_SRC}\" haf_unit_text)
    string(REPLACE \"/usr/bin/hsm-audit-forwarder\"
        \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/hsm-audit-forwarder\"
        haf_unit_text \"\${haf_unit_text}\")
    file(WRITE \"${HAF_UNIT_OUT}\" \"\${haf_unit_text}\")
")
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
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${HAF_DOC_DIR})
# Debian policy 12.5 and 12.7: the copyright file (machine-readable, pointing at
# /usr/share/common-licenses/Apache-2.0 instead of a second copy of LICENSE) and the changelog,
# gzipped -9n. The version is native (no Debian revision): the packaging lives upstream.
install(FILES ${CMAKE_SOURCE_DIR}/packaging/deb/copyright DESTINATION ${HAF_DOC_DIR})
if(HAF_GZIP)
    add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/changelog.gz
        COMMAND ${HAF_GZIP} -9nc ${CMAKE_SOURCE_DIR}/packaging/deb/changelog
            > ${CMAKE_BINARY_DIR}/changelog.gz
        DEPENDS ${CMAKE_SOURCE_DIR}/packaging/deb/changelog
        VERBATIM)
    add_custom_target(haf_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/changelog.gz)
    install(FILES ${CMAKE_BINARY_DIR}/changelog.gz DESTINATION ${HAF_DOC_DIR})
endif()
install(FILES ${CMAKE_SOURCE_DIR}/packaging/deb/lintian-overrides
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides RENAME ${HAF_PKG_NAME})

# ---- CPack ----
set(CPACK_PACKAGE_NAME ${HAF_PKG_NAME})
set(CPACK_PACKAGE_VENDOR "hsm-audit-forwarder developers")
# The Maintainer: field. Set HAF_PACKAGE_MAINTAINER to the real team address of a site build.
set(HAF_PACKAGE_MAINTAINER "hsm-audit-forwarder developers <dev@hsm-audit-forwarder.invalid>"
    CACHE STRING "Maintainer of the packages: \"Name <address>\"")
set(CPACK_PACKAGE_CONTACT "${HAF_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Ships AWS CloudHSM audit log entries to Amazon CloudWatch Logs")
# Lines under 80 columns once dpkg indents them (lintian: extended-description-line-too-long).
set(CPACK_PACKAGE_DESCRIPTION
    "hsm-audit-forwarder tails AWS CloudHSM HSM audit log files, parses each
entry into a typed JSON event and ships it to Amazon CloudWatch Logs with
PutLogEvents (SigV4), never losing and never duplicating an entry. It runs
as an unprivileged, hardened systemd service.")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
# Packages are /usr packages whatever CMAKE_INSTALL_PREFIX is (its default, /usr/local, is for
# `cmake --install`): systemd, deb-systemd-helper and man look under /usr.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
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
    # zlib1g, libc6), with the versions it was linked against.
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, ca-certificates")
else()
    # The same by hand: one package per library the binary links (zlib1g: libz, for reading
    # s3-export files). tests/integration/package_deb.sh checks it covers what dpkg-shlibdeps finds.
    set(CPACK_DEBIAN_PACKAGE_DEPENDS
        "adduser, ca-certificates, libc6, libcurl4, libjansson4, libyaml-0-2, libssl3, zlib1g")
endif()
# ca-certificates: every HTTPS request verifies against the system trust store, which libcurl4
# only Recommends (absent with --no-install-recommends). No procps: the unit has no /bin/kill
# (ExecReload= is `hsm-audit-forwarder --reload`).
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
