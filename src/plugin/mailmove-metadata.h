#ifndef MAILMOVE_METADATA_H
#define MAILMOVE_METADATA_H

/* The IMAP METADATA server entries /private/vendor/vendor.mailmove/...
   (mailmove-metadata.c). Dovecot 2.3's internal mailbox attribute API is
   used only there. */
void mailmove_metadata_init(void);
void mailmove_metadata_deinit(void);

#endif
