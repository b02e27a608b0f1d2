#include "storage/dovecot-error.h"

#include "base/failure.h"
#include "storage/dovecot-headers.h"

namespace mailmove::storage {

void throw_mailbox_error(struct mailbox *box, const std::string &what)
{
	enum mail_error code;
	std::string error = mailbox_get_last_internal_error(box, &code);
	FailureKind kind = FailureKind::temporary;
	switch (code) {
	case MAIL_ERROR_PARAMS:
	case MAIL_ERROR_PERM:
	case MAIL_ERROR_NOTPOSSIBLE:
		/* retrying the same thing fails the same way */
		kind = FailureKind::permanent;
		break;
	default:
		/* TEMP, NOQUOTA (until the admin raises it), INUSE, ... */
		break;
	}
	throw Failure(kind, what + " " + mailbox_get_vname(box) + ": " + error);
}

} // namespace mailmove::storage
