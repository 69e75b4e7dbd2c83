# dbproxy %pre: the system user and group (before the files, so %attr can name them).
getent group dbproxy >/dev/null || groupadd -r dbproxy
getent passwd dbproxy >/dev/null ||
  useradd -r -g dbproxy -d /var/lib/dbproxy -M -s /sbin/nologin -c "dbproxy daemon" dbproxy
exit 0
