# dbproxy %postun ($1 = 0 erase, 1 upgrade). Erase keeps /var/lib/dbproxy (less the
# staged-plugin cache) and the dbproxy user: files owned by that uid may remain. Upgrade
# restarts a running daemon on the new files; a stopped one stays stopped.
if [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null 2>&1 || :
  if [ "$1" -ge 1 ]; then
    systemctl try-restart dbproxy.service >/dev/null 2>&1 || :
  fi
fi
if [ "$1" -eq 0 ]; then
  rm -f /etc/systemd/system/multi-user.target.wants/dbproxy.service
  rm -rf /var/lib/dbproxy/plugins-staged
fi
exit 0
