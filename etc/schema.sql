-- dbproxy: the TeamTalk-compatible MySQL/MariaDB schema.
--
-- Data compatibility with existing TeamTalk databases is the point of this file: table and
-- column names, types, nullability, defaults, charsets and index names match what TeamTalk
-- deployments have, so dbproxy can run on a live database and TeamTalk's own tools keep
-- working on ours. Do not "improve" a column or add a unique key here: live data may already
-- break the new rule (duplicate relations, sessions and members exist in the wild), and the
-- index names are used in FORCE INDEX hints.
--
-- Safe to load more than once: every statement is CREATE TABLE IF NOT EXISTS or INSERT IGNORE.
-- The caller selects the database (mariadb teamtalk < schema.sql); this file never does.
--
-- Times are unix seconds in int unsigned columns. Columns without NOT NULL are nullable only
-- because TeamTalk's are; writers must still never store NULL in them, since TeamTalk's
-- db_proxy crashes reading one.

SET NAMES utf8mb4;

-- Web-admin accounts. dbproxy never reads this table.
CREATE TABLE IF NOT EXISTS IMAdmin (
  id        mediumint(6) unsigned NOT NULL AUTO_INCREMENT,
  uname     varchar(40)           NOT NULL,
  pwd       char(32)              NOT NULL COMMENT 'md5 hex of the password',
  status    tinyint(2) unsigned   NOT NULL DEFAULT 0 COMMENT '0 normal, 1 deleted',
  created   int(11) unsigned      NOT NULL DEFAULT 0,
  updated   int(11) unsigned      NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

-- The default admin/admin login of a fresh install; IGNORE keeps an operator's changes.
INSERT IGNORE INTO IMAdmin (id, uname, pwd, status, created, updated)
VALUES (1, 'admin', '21232f297a57a5a743894a0e4a801fc3', 0, 0, 0);

-- One row per audio message; the message content column holds this row's id.
CREATE TABLE IF NOT EXISTS IMAudio (
  id        int(11)               NOT NULL AUTO_INCREMENT,
  fromId    int(11) unsigned      NOT NULL,
  toId      int(11) unsigned      NOT NULL COMMENT 'peer user id or group id',
  path      varchar(255)                   DEFAULT '' COMMENT 'download URL',
  size      int(11) unsigned      NOT NULL DEFAULT 0 COMMENT 'bytes, without the duration prefix',
  duration  int(11) unsigned      NOT NULL DEFAULT 0 COMMENT 'seconds',
  created   int(11) unsigned      NOT NULL,
  PRIMARY KEY (id),
  KEY idx_fromId_toId (fromId, toId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Departments, maintained by the web admin.
CREATE TABLE IF NOT EXISTS IMDepart (
  id          int(11) unsigned    NOT NULL AUTO_INCREMENT,
  departName  varchar(64)         NOT NULL DEFAULT '',
  priority    int(11) unsigned    NOT NULL DEFAULT 0,
  parentId    int(11) unsigned    NOT NULL,
  status      int(11) unsigned    NOT NULL DEFAULT 0 COMMENT '0 ok, 1 deleted',
  created     int(11) unsigned    NOT NULL,
  updated     int(11) unsigned    NOT NULL,
  PRIMARY KEY (id),
  KEY idx_departName (departName),
  KEY idx_priority_status (priority, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Discovery page links for clients, maintained by the web admin. dbproxy never reads it.
CREATE TABLE IF NOT EXISTS IMDiscovery (
  id            int(11) unsigned  NOT NULL AUTO_INCREMENT,
  itemName      varchar(64)       NOT NULL DEFAULT '',
  itemUrl       varchar(64)       NOT NULL DEFAULT '',
  itemPriority  int(11) unsigned  NOT NULL,
  status        int(11) unsigned  NOT NULL DEFAULT 0,
  created       int(11) unsigned  NOT NULL,
  updated       int(11) unsigned  NOT NULL,
  PRIMARY KEY (id),
  KEY idx_itemName (itemName)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Groups. status defaults to 1 in TeamTalk's DDL although writers insert 0 for a live group;
-- the default is kept so inserts that omit status behave as they always did.
CREATE TABLE IF NOT EXISTS IMGroup (
  id          int(11)             NOT NULL AUTO_INCREMENT,
  name        varchar(256)        NOT NULL DEFAULT '',
  avatar      varchar(256)        NOT NULL DEFAULT '',
  creator     int(11) unsigned    NOT NULL DEFAULT 0 COMMENT 'creator user id, 0 = admin',
  type        tinyint(3) unsigned NOT NULL DEFAULT 1 COMMENT '1 normal, 2 temporary',
  userCnt     int(11) unsigned    NOT NULL DEFAULT 0,
  status      tinyint(3) unsigned NOT NULL DEFAULT 1 COMMENT '0 normal, 1 deleted',
  version     int(11) unsigned    NOT NULL DEFAULT 1 COMMENT 'bumped on every member change',
  lastChated  int(11) unsigned    NOT NULL DEFAULT 0 COMMENT 'time of the last group message',
  updated     int(11) unsigned    NOT NULL DEFAULT 0,
  created     int(11) unsigned    NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY idx_name (name(191)),
  KEY idx_creator (creator)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='groups';

-- Group membership history. Redis group_member_<gid> is what decides membership at run time;
-- this table answers "which groups is user X in" and is the source for rebuilding Redis.
CREATE TABLE IF NOT EXISTS IMGroupMember (
  id        int(11)               NOT NULL AUTO_INCREMENT,
  groupId   int(11) unsigned      NOT NULL,
  userId    int(11) unsigned      NOT NULL,
  status    tinyint(4) unsigned   NOT NULL DEFAULT 1 COMMENT '0 member, 1 left or removed',
  created   int(11) unsigned      NOT NULL DEFAULT 0,
  updated   int(11) unsigned      NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY idx_groupId_userId_status (groupId, userId, status),
  KEY idx_userId_status_updated (userId, status, updated),
  KEY idx_groupId_updated (groupId, updated)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

-- Group messages, sharded by groupId % 8. The shard count is part of the data layout:
-- changing it strands existing messages in the wrong table.
-- type holds the wire MsgType (17 text, 18 audio); the default of 2 is historical.
CREATE TABLE IF NOT EXISTS IMGroupMessage_0 (
  id        int(11)               NOT NULL AUTO_INCREMENT,
  groupId   int(11) unsigned      NOT NULL,
  userId    int(11) unsigned      NOT NULL COMMENT 'sender',
  msgId     int(11) unsigned      NOT NULL COMMENT 'per-group sequence from Redis',
  content   varchar(4096)         NOT NULL DEFAULT '',
  type      tinyint(3) unsigned   NOT NULL DEFAULT 2,
  status    int(11) unsigned      NOT NULL DEFAULT 0 COMMENT '0 normal, 1 deleted',
  updated   int(11) unsigned      NOT NULL DEFAULT 0,
  created   int(11) unsigned      NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY idx_groupId_status_created (groupId, status, created),
  KEY idx_groupId_msgId_status_created (groupId, msgId, status, created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='group messages';

-- LIKE copies columns, indexes and table options, so the shards cannot drift apart.
CREATE TABLE IF NOT EXISTS IMGroupMessage_1 LIKE IMGroupMessage_0;
CREATE TABLE IF NOT EXISTS IMGroupMessage_2 LIKE IMGroupMessage_0;
CREATE TABLE IF NOT EXISTS IMGroupMessage_3 LIKE IMGroupMessage_0;
CREATE TABLE IF NOT EXISTS IMGroupMessage_4 LIKE IMGroupMessage_0;
CREATE TABLE IF NOT EXISTS IMGroupMessage_5 LIKE IMGroupMessage_0;
CREATE TABLE IF NOT EXISTS IMGroupMessage_6 LIKE IMGroupMessage_0;
CREATE TABLE IF NOT EXISTS IMGroupMessage_7 LIKE IMGroupMessage_0;

-- Single-chat messages, sharded by relateId % 8 (relateId = IMRelationShip.id).
-- The third index is named ..._created but covers status: the name is what TeamTalk shipped.
CREATE TABLE IF NOT EXISTS IMMessage_0 (
  id        int(11)               NOT NULL AUTO_INCREMENT,
  relateId  int(11) unsigned      NOT NULL COMMENT 'IMRelationShip.id',
  fromId    int(11) unsigned      NOT NULL,
  toId      int(11) unsigned      NOT NULL,
  msgId     int(11) unsigned      NOT NULL COMMENT 'per-relation sequence from Redis',
  content   varchar(4096)                  DEFAULT '',
  type      tinyint(2) unsigned   NOT NULL DEFAULT 1 COMMENT '1 text, 2 audio',
  status    tinyint(1) unsigned   NOT NULL DEFAULT 0 COMMENT '0 normal, 1 deleted',
  updated   int(11) unsigned      NOT NULL,
  created   int(11) unsigned      NOT NULL,
  PRIMARY KEY (id),
  KEY idx_relateId_status_created (relateId, status, created),
  KEY idx_relateId_status_msgId_created (relateId, status, msgId, created),
  KEY idx_fromId_toId_created (fromId, toId, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS IMMessage_1 LIKE IMMessage_0;
CREATE TABLE IF NOT EXISTS IMMessage_2 LIKE IMMessage_0;
CREATE TABLE IF NOT EXISTS IMMessage_3 LIKE IMMessage_0;
CREATE TABLE IF NOT EXISTS IMMessage_4 LIKE IMMessage_0;
CREATE TABLE IF NOT EXISTS IMMessage_5 LIKE IMMessage_0;
CREATE TABLE IF NOT EXISTS IMMessage_6 LIKE IMMessage_0;
CREATE TABLE IF NOT EXISTS IMMessage_7 LIKE IMMessage_0;

-- Recent-session list of each user; updated is the ordering key.
CREATE TABLE IF NOT EXISTS IMRecentSession (
  id        int(11)               NOT NULL AUTO_INCREMENT,
  userId    int(11) unsigned      NOT NULL COMMENT 'owner',
  peerId    int(11) unsigned      NOT NULL COMMENT 'peer user id or group id',
  type      tinyint(1) unsigned            DEFAULT 0 COMMENT '1 user, 2 group',
  status    tinyint(1) unsigned            DEFAULT 0 COMMENT '0 normal, 1 deleted',
  created   int(11) unsigned      NOT NULL DEFAULT 0,
  updated   int(11) unsigned      NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY idx_userId_peerId_status_updated (userId, peerId, status, updated),
  KEY idx_userId_peerId_type (userId, peerId, type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

-- One row per pair of users who have chatted; id is the relateId that shards IMMessage_N.
CREATE TABLE IF NOT EXISTS IMRelationShip (
  id        int(11)               NOT NULL AUTO_INCREMENT,
  smallId   int(11) unsigned      NOT NULL COMMENT 'the smaller user id',
  bigId     int(11) unsigned      NOT NULL COMMENT 'the bigger user id',
  status    tinyint(1) unsigned            DEFAULT 0 COMMENT '0 normal, 1 deleted',
  created   int(11) unsigned      NOT NULL DEFAULT 0,
  updated   int(11) unsigned      NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY idx_smallId_bigId_status_updated (smallId, bigId, status, updated)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

-- Users, maintained by the web admin. password = md5_hex(md5_hex(plain) + salt).
-- utf8mb4_bin makes login names case-sensitive, as they have always been.
CREATE TABLE IF NOT EXISTS IMUser (
  id                  int(11) unsigned    NOT NULL AUTO_INCREMENT,
  sex                 tinyint(1) unsigned NOT NULL DEFAULT 0 COMMENT '0 unknown, 1 male, 2 female',
  name                varchar(32)         NOT NULL DEFAULT '' COMMENT 'login name',
  domain              varchar(32)         NOT NULL DEFAULT '' COMMENT 'pinyin of the name',
  nick                varchar(32)         NOT NULL DEFAULT '',
  password            varchar(32)         NOT NULL DEFAULT '',
  salt                varchar(4)          NOT NULL DEFAULT '' COMMENT 'decimal, up to 4 digits',
  phone               varchar(11)         NOT NULL DEFAULT '',
  email               varchar(64)         NOT NULL DEFAULT '',
  avatar              varchar(255)                 DEFAULT '',
  departId            int(11) unsigned    NOT NULL,
  status              tinyint(2) unsigned          DEFAULT 0 COMMENT 'login needs 0; 3 = resigned',
  created             int(11) unsigned    NOT NULL,
  updated             int(11) unsigned    NOT NULL COMMENT 'drives incremental user sync',
  push_shield_status  tinyint(1) unsigned NOT NULL DEFAULT 0 COMMENT '0 off, 1 do not disturb',
  sign_info           varchar(128)        NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY idx_domain (domain),
  KEY idx_name (name),
  KEY idx_phone (phone)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Offline files waiting for their receiver. TeamTalk's code uses this table but its shipped
-- schema never created it, so the layout is ours, built from the columns that code reads
-- and writes. Rows are deleted once the receiver has the file.
CREATE TABLE IF NOT EXISTS IMTransmitFile (
  id        int(11)               NOT NULL AUTO_INCREMENT,
  fromId    int(11) unsigned      NOT NULL,
  toId      int(11) unsigned      NOT NULL,
  fileName  varchar(255)          NOT NULL DEFAULT '',
  size      int(11) unsigned      NOT NULL DEFAULT 0 COMMENT 'bytes',
  taskId    varchar(128)          NOT NULL DEFAULT '' COMMENT 'file_server task id',
  status    int(11) unsigned      NOT NULL DEFAULT 0 COMMENT '0 pending',
  created   int(11) unsigned      NOT NULL DEFAULT 0,
  updated   int(11) unsigned      NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY idx_toId_status_created (toId, status, created),
  KEY idx_fromId_toId_taskId (fromId, toId, taskId)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- dbproxy's own: unread increments that could not reach Redis (the unread module's repair
-- queue, plugins/unread/repair_queue.h). A row is a stored message whose counter update
-- failed after its COMMIT; the module replays it into Redis once Redis answers, at most
-- once per message, and deletes it. TeamTalk's db_proxy_server never reads this table, so
-- both can run on the same database. The module creates it itself when it is missing.
CREATE TABLE IF NOT EXISTS dbproxy_unread_repair (
  id          bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  sessionType tinyint(3) unsigned NOT NULL COMMENT '1 single, 2 group',
  fromId      int(11) unsigned    NOT NULL,
  toId        int(11) unsigned    NOT NULL COMMENT 'receiving user or group',
  msgId       int(11) unsigned    NOT NULL,
  created     int(11) unsigned    NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
