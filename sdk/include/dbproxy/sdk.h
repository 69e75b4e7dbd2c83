#pragma once

// Everything a C++ plugin includes: the ABI, Status/Result, Host/Request, MySQL, Redis and
// the DBP_PLUGIN entry macro.

#include "dbproxy/abi.h"
#include "dbproxy/sdk/entry.h"
#include "dbproxy/sdk/mysql.h"
#include "dbproxy/sdk/plugin.h"
#include "dbproxy/sdk/redis.h"
#include "dbproxy/sdk/status.h"
