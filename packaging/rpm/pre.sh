# %pre of the hsm-audit-forwarder RPM: the system group and user exist before the files are
# unpacked, so the configuration can be installed root:hsm-audit-forwarder 0640.
getent group hsm-audit-forwarder >/dev/null || groupadd --system hsm-audit-forwarder
getent passwd hsm-audit-forwarder >/dev/null ||
    useradd --system --gid hsm-audit-forwarder --no-create-home \
        --home-dir /var/lib/hsm-audit-forwarder --shell /sbin/nologin \
        --comment "CloudHSM audit log forwarder" hsm-audit-forwarder
exit 0
