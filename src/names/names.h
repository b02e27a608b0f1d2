// Legacy folder names: decoding (modified UTF-7, NFC), mapping to the
// target's namespace, escaping, special-use roles, admins' rules.
#pragma once

#include "names/folder-mapper.h"
#include "names/folder-rule.h"
#include "names/folder-settings.h"
#include "names/level-escape.h"
#include "names/mutf7.h"
#include "names/normalize.h"
#include "names/role.h"
