/* What kind of storage a mailbox is in: a question only Dovecot's private
   structures answer, so it is asked in C (the C++ side includes only the
   public headers). */
#ifndef STORAGE_DRIVER_H
#define STORAGE_DRIVER_H

#ifdef __cplusplus
extern "C" {
#endif

struct mailbox;

/* The mailbox is in a maildir storage (driver "maildir"). */
bool mailmove_mailbox_is_maildir(struct mailbox *box);

#ifdef __cplusplus
}
#endif

#endif
