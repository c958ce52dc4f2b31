# %postun of the hsm-audit-forwarder RPM (as %systemd_postun_with_restart): reload systemd, and
# on upgrade restart the service if it was running. The state directory and the system user are
# kept on erase (checkpoints, and ids that files elsewhere may still carry).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart hsm-audit-forwarder.service >/dev/null 2>&1 || :
    fi
fi
exit 0
