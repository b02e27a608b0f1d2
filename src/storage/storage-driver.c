#include "lib.h"
#include "mail-storage-private.h"
#include "storage-driver.h"

bool mailmove_mailbox_is_maildir(struct mailbox *box)
{
	return strcmp(mailbox_get_storage(box)->name, "maildir") == 0;
}
