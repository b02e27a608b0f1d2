// The three conversations the mailmove service has. Every line is made of
// tab-escaped fields (see line-codec.h) and ends with "\n". Each side starts
// with Dovecot's connection handshake line:
//   VERSION <TAB> <service name> <TAB> <major> <TAB> <minor>
//
// 1. Login notifications (socket "mailmove", from the mail plugin in imap
//    and pop3 processes; fire and forget, the plugin never reads a reply):
//      VERSION  mailmove-notify  1  0
//      LOGIN    <user>  [source=<url>  [source_from=userdb]]
//               [password=<the login's password>]
//    source_from=userdb: the user's userdb sets the source (it wins over
//    the domain table); no source: only an enabled domain queues a move.
//    The password is there only when the passdb handed it to the session
//    (userdb_mailmove_password=%w) and mailmove_password_from = login. The
//    service believes a LOGIN only from root or the user's own uid, for a
//    user userdb knows (notify-intake.h), reads one LOGIN per connection
//    and never logs the line.
//    The same socket takes the user requests of the IMAP METADATA entries
//    (plugin/mailmove-metadata.c; user-requests.h), one per connection,
//    believed under the same rules, and answers them with one line:
//      USER-GET <user>                          -> key=value: state=,
//               progress fields, started=, finished=, last_error=,
//               failure_kind=, login= (the legacy login the user set),
//               writable=yes|no (the domain lets users write)
//      USER-SET <user>  [login=]  [password=]  [source=  [source_from=userdb]]
//               -> "OK"
//    or "ERR <TAB> why" (refused, invalid value, too frequent, writes
//    switched off for the domain). USER-SET never logs its values.
//
// 2. Administration (socket "mailmove-admin", from doveadm):
//      VERSION  mailmove-admin  1  0            (both directions)
//      STATUS   <user or mask with * and ?>     -> one line per job:
//               key=value fields (see job.h) plus credentials=
//               none|login|admin|import|master, then an empty line.
//               An exact user with no job gets one line with state=none;
//               users with stored credentials but no job are listed with
//               state=none.
//      STATUS-ALL                               -> every job, then "".
//      FOLDERS  <user or mask>                  -> one line per folder of each
//               user's latest run (user=, then folder fields), then "".
//               Kept in memory: empty after a service restart until
//               the user's next run reports its folders.
//      SUMMARY  <mask> / SUMMARY-ALL            -> one line per domain and
//               a total line (domain=*), then "" (status-summary.h).
//      START | PAUSE | RESUME | RETRY | RESET  <user or mask>
//               -> one line per user: user=, result=changed|unchanged|
//               not-found, state= (after), reason= (why unchanged), then "".
//      CREDENTIALS-SET    <user | @domain | *>  password=  [login=]
//               [master_user=]  [source=]       -> "OK"
//      CREDENTIALS-CLEAR  <user mask | @domain | *>
//               -> one line per record removed: scope=, result=cleared; "".
//      CREDENTIALS-GET    <user>                -> the vault record's
//               scope= and origin= (when one applies), then the legacy
//               source value a worker's JOB line would carry (source
//               fields below), or nothing, then "". For doveadm mailmove
//               run and test.
//      IMPORT-DATA  <a piece of the CSV file>   (no reply)
//      IMPORT-END   [partial=yes]               -> line=, problem= per bad
//               line, then imported=, valid=, problems=, then "". Nothing is
//               imported when a line is bad, unless partial=yes.
//      WINDOW-LIST                              -> scope=, opens=, closes=,
//               updated=, state=open|closed|pending per window, then "".
//      WINDOW-OPEN   <domain | *>  [opens=<time>]  [length=<seconds>]  -> "OK"
//      WINDOW-CLOSE  <domain | *>                                      -> "OK"
//      DOMAIN-ENABLE  <domain>  source=<url>  [provider=<preset>]  [via=<why>]
//               [requested=auto|<url>]          -> "OK" (doveadm detects
//               for --source auto and checks the preset name first)
//      DOMAIN-DISABLE <domain>                  -> "OK" (ERR: not enabled)
//      DOMAIN-LIST                              -> domain=, state=enabled|
//               disabled, source=, provider=, via=, requested=, updated=,
//               window=open|closed|pending|not-opened, window_closes=,
//               users=, one count per job state, synced= per domain, then "".
//      RUN-BEGIN     <user>  source=<url>       -> "OK" or "ERR <TAB> why"
//      RUN-PROGRESS  <user>  <progress fields>  (no reply)
//      RUN-END       <user>  <result fields>    -> "OK"
//    (doveadm mailmove run reports its foreground pass this way, so status
//    shows it like any other run.)
//    Jobs come in user order. Masks match ASCII letters case-insensitively
//    (like doveadm's user masks); an exact user must match exactly.
//    Any command may instead be answered with the single line
//    "ERR <TAB> why" (unknown command, missing user, job table failure);
//    a job line never starts with it, its fields all being key=value.
//    RUN-BEGIN is refused (ERR) while the user's move runs on a worker or
//    in another doveadm. RUN-PROGRESS and RUN-END count only on the
//    connection that sent RUN-BEGIN (RUN-END elsewhere gets ERR), and if
//    that connection closes before RUN-END the run failed (temporary).
//
// 3. Workers (socket "mailmove-worker", the service connects to it):
//      VERSION  mailmove-worker  1  0           (both directions)
//      service -> worker:  JOB  <user>  [<source fields>]
//                          (right after its VERSION line; a worker that
//                          finds a malformed value answers FAILED
//                          kind=permanent and runs nothing)
//      worker -> service:  STARTED   source=<url>
//                          FOLDER    <folder fields>   (any number)
//                          PROGRESS  <progress fields>
//                          DONE      <progress fields>  saved_now=<n>
//                          FAILED    kind=<temporary|permanent|auth>
//                                    error=<text>  [retry_at=<UTC time>]
//                                    <progress fields>
//                          (retry_at: a temporary failure that ends at a
//                          known time, the legacy account's daily
//                          download cap; the job waits until then)
//    A worker that closes the connection without DONE or FAILED crashed or
//    was killed: the job is failed temporarily and retried.
//
// Progress fields: folders_done, folders_total, messages_done,
// messages_total, bytes_done, bytes_total, messages_failed,
// folders_failed (decimal integers).
// Folder fields: name (target), legacy_name, state (pending, moving, done,
// skipped, failed), messages_done, messages_total, bytes_done, bytes_total,
// messages_failed. A FOLDER line replaces what was known of that folder.
// Source fields: the legacy source value the service chose for the user
// once per run (source/service-source.h; the precedence is in
// providers/legacy-source.h). All optional; what is missing comes from the
// user's settings: source=<url or auto> with source_from=vault|domain
// (both or neither; a domain's source gives way to a userdb
// mailmove_source or mailmove_provider), provider=<preset> (with
// source_from=domain only), login=<legacy login>, password=<...>,
// master_user=<SASL authentication identity for master-user logins>.
// They travel only on the worker socket and in CREDENTIALS-GET replies on
// the admin socket (both root only) and are never logged.
// Result fields (RUN-END): result=done|failed, kind=..., error=...,
// retry_at=... (as in FAILED),
// saved_now=<n>, plus the progress fields. doveadm reports folders with
//      RUN-FOLDER    <user>  <folder fields>    (no reply)
//
// This header is the one place for the sockets' names, the handshakes'
// service names and versions and the command words: the C glue (plugin,
// service, worker, doveadm) includes it for the macros below, the C++ core
// for the rest as well.
#ifndef MAILMOVE_JOBS_PROTOCOL_H
#define MAILMOVE_JOBS_PROTOCOL_H

/* Socket file names under Dovecot's base_dir. */
#define MAILMOVE_NOTIFY_SOCKET "mailmove"
#define MAILMOVE_ADMIN_SOCKET "mailmove-admin"
#define MAILMOVE_WORKER_SOCKET "mailmove-worker"
/* Dovecot's userdb socket, which the service asks who a user is. */
#define MAILMOVE_AUTH_USERDB_SOCKET "auth-userdb"

/* Service names of the VERSION handshake lines, and the versions. */
#define MAILMOVE_NOTIFY_SERVICE "mailmove-notify"
#define MAILMOVE_ADMIN_SERVICE "mailmove-admin"
#define MAILMOVE_WORKER_SERVICE "mailmove-worker"
#define MAILMOVE_PROTOCOL_MAJOR 1
#define MAILMOVE_PROTOCOL_MINOR 0
#define MAILMOVE_NOTIFY_HANDSHAKE \
	"VERSION\t" MAILMOVE_NOTIFY_SERVICE "\t1\t0\n"

/* Command words. Notify socket: */
#define MAILMOVE_CMD_LOGIN "LOGIN"
#define MAILMOVE_CMD_USER_GET "USER-GET"
#define MAILMOVE_CMD_USER_SET "USER-SET"
/* Admin socket: */
#define MAILMOVE_CMD_STATUS "STATUS"
#define MAILMOVE_CMD_STATUS_ALL "STATUS-ALL"
#define MAILMOVE_CMD_FOLDERS "FOLDERS"
#define MAILMOVE_CMD_SUMMARY "SUMMARY"
#define MAILMOVE_CMD_SUMMARY_ALL "SUMMARY-ALL"
#define MAILMOVE_CMD_START "START"
#define MAILMOVE_CMD_PAUSE "PAUSE"
#define MAILMOVE_CMD_RESUME "RESUME"
#define MAILMOVE_CMD_RETRY "RETRY"
#define MAILMOVE_CMD_RESET "RESET"
#define MAILMOVE_CMD_CREDENTIALS_SET "CREDENTIALS-SET"
#define MAILMOVE_CMD_CREDENTIALS_CLEAR "CREDENTIALS-CLEAR"
#define MAILMOVE_CMD_CREDENTIALS_GET "CREDENTIALS-GET"
#define MAILMOVE_CMD_IMPORT_DATA "IMPORT-DATA"
#define MAILMOVE_CMD_IMPORT_END "IMPORT-END"
#define MAILMOVE_CMD_WINDOW_LIST "WINDOW-LIST"
#define MAILMOVE_CMD_WINDOW_OPEN "WINDOW-OPEN"
#define MAILMOVE_CMD_WINDOW_CLOSE "WINDOW-CLOSE"
#define MAILMOVE_CMD_DOMAIN_ENABLE "DOMAIN-ENABLE"
#define MAILMOVE_CMD_DOMAIN_DISABLE "DOMAIN-DISABLE"
#define MAILMOVE_CMD_DOMAIN_LIST "DOMAIN-LIST"
#define MAILMOVE_CMD_RUN_BEGIN "RUN-BEGIN"
#define MAILMOVE_CMD_RUN_PROGRESS "RUN-PROGRESS"
#define MAILMOVE_CMD_RUN_FOLDER "RUN-FOLDER"
#define MAILMOVE_CMD_RUN_END "RUN-END"
#define MAILMOVE_REPLY_OK "OK"
#define MAILMOVE_REPLY_ERR "ERR"
/* Worker socket: */
#define MAILMOVE_CMD_JOB "JOB"
#define MAILMOVE_EVENT_STARTED "STARTED"
#define MAILMOVE_EVENT_FOLDER "FOLDER"
#define MAILMOVE_EVENT_PROGRESS "PROGRESS"
#define MAILMOVE_EVENT_DONE "DONE"
#define MAILMOVE_EVENT_FAILED "FAILED"

#ifdef __cplusplus

#include "base/progress.h"
#include "base/line-codec.h"

namespace mailmove::jobs {

inline constexpr const char *notify_service_name = MAILMOVE_NOTIFY_SERVICE;
inline constexpr const char *admin_service_name = MAILMOVE_ADMIN_SERVICE;
inline constexpr const char *worker_service_name = MAILMOVE_WORKER_SERVICE;
inline constexpr unsigned protocol_major = MAILMOVE_PROTOCOL_MAJOR;
inline constexpr unsigned protocol_minor = MAILMOVE_PROTOCOL_MINOR;

KeyValues progress_to_key_values(const Progress &progress);
// Missing or malformed numbers leave the field as it was in progress.
void apply_progress(Progress &progress, const KeyValues &values);

KeyValues folder_progress_to_key_values(const FolderProgress &folder);

} // namespace mailmove::jobs

#endif /* __cplusplus */
#endif
