#include "base/failure.h"

namespace mailmove {

const char *failure_kind_name(FailureKind kind)
{
	switch (kind) {
	case FailureKind::temporary:
		return "temporary";
	case FailureKind::permanent:
		return "permanent";
	case FailureKind::auth:
		return "auth";
	}
	return "temporary";
}

} // namespace mailmove
