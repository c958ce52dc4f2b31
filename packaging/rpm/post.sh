# %post of the hsm-audit-forwarder RPM: the 0700 state directory and the configuration's group,
# then what %systemd_post does (preset on first install). The service is not started here: it
# needs the site's region, sources and IAM permissions first.
mkdir -p /var/lib/hsm-audit-forwarder
chown hsm-audit-forwarder:hsm-audit-forwarder /var/lib/hsm-audit-forwarder
chmod 0700 /var/lib/hsm-audit-forwarder
if [ -f /etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml ]; then
    chgrp hsm-audit-forwarder /etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml || :
fi
if [ "$1" -eq 1 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload preset hsm-audit-forwarder.service >/dev/null 2>&1 || :
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
