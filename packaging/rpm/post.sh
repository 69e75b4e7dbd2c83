# dbproxy %post ($1 = 1 install, 2 upgrade). The service is not enabled: it needs database
# settings first (/usr/share/doc/dbproxy/README.md), then `systemctl enable --now dbproxy`.
install -d -m 0750 -o dbproxy -g dbproxy /var/lib/dbproxy
if [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null 2>&1 || :
fi
exit 0
