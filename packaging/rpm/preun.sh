# dbproxy %preun ($1 = 0 erase, 1 upgrade): stop the daemon before its files go away.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
  systemctl stop dbproxy.service >/dev/null 2>&1 || :
fi
exit 0
