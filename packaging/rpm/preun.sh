# %preun of the hsm-audit-forwarder RPM (as %systemd_preun): on erase (not upgrade), disable and
# stop the service; on SIGTERM it flushes and saves its checkpoints.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now hsm-audit-forwarder.service >/dev/null 2>&1 || :
fi
exit 0
