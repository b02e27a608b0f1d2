#ifndef ADMIN_CLIENT_H
#define ADMIN_CLIENT_H

/* A small blocking client of the mailmove service's admin socket
   (<base_dir>/mailmove-admin; the protocol is in src/jobs/protocol.h), for
   doveadm commands. Each wait for the service is bounded
   (MAILMOVE_ADMIN_CLIENT_TIMEOUT_MSECS per read or write). Errors come back
   as error_r strings on the data stack, ready to log; after a -1 the client
   can only be freed.

   Commands are arrays of fields, NULL-terminated, unescaped: the client
   tab-escapes them. Replies come back split into unescaped fields.

   Status, a reply of many lines ended by an empty line:

     struct mailmove_admin_client *client;
     const char *const cmd[] = { "STATUS", "*@example.com", NULL };
     const char *const *fields, *error;
     int ret;

     if (mailmove_admin_client_connect(path, &client, &error) < 0)
             ... (the service is not running: EX_TEMPFAIL)
     if (mailmove_admin_client_send(client, cmd, &error) == 0) {
             while ((ret = mailmove_admin_client_read_line(client, &fields,
                                                           &error)) > 0)
                     ... one job: "key=value" fields
     }
     mailmove_admin_client_deinit(&client);

   A foreground run, as `doveadm mailmove run` reports it:

     { "RUN-BEGIN", user, "source=imaps://...", NULL }
             -> mailmove_admin_client_command(): 1 = OK,
                0 = refused (error_r: the service's reason, e.g. already
                running), -1 = connection error
     { "RUN-PROGRESS", user, "messages_done=10", ..., NULL }
             -> mailmove_admin_client_send(): no reply
     { "RUN-END", user, "result=done", "messages_done=10", ..., NULL }
             -> mailmove_admin_client_command()

   The service fails a run whose connection closes before RUN-END, so keep
   the client open for the whole run. */

#include "jobs/protocol.h"

#define MAILMOVE_ADMIN_SOCKET_NAME MAILMOVE_ADMIN_SOCKET
#define MAILMOVE_ADMIN_CLIENT_TIMEOUT_MSECS (30 * 1000)

struct mailmove_admin_client;

/* Connects to the socket and exchanges VERSION lines. Returns 0, or -1 with
   error_r saying why (no service listening, wrong socket, timeout). */
int mailmove_admin_client_connect(const char *socket_path,
				  struct mailmove_admin_client **client_r,
				  const char **error_r);
void mailmove_admin_client_deinit(struct mailmove_admin_client **client);

/* Sends one command line. Returns 0, or -1 with error_r. */
int mailmove_admin_client_send(struct mailmove_admin_client *client,
			       const char *const *fields, const char **error_r);

/* Sends "<command> <TAB> <data>" with data escaped byte for byte (NULs
   too), for IMPORT-DATA. Returns 0, or -1 with error_r. */
int mailmove_admin_client_send_data(struct mailmove_admin_client *client,
				    const char *command, const void *data, size_t size,
				    const char **error_r);

/* Reads the next line of a multi-line reply (STATUS, STATUS-ALL). Returns 1
   with its fields (data stack), 0 at the empty line that ends the reply, or
   -1 with error_r: the connection failed, or the service answered
   "ERR <TAB> why" (error_r is then its reason). */
int mailmove_admin_client_read_line(struct mailmove_admin_client *client,
				    const char *const **fields_r,
				    const char **error_r);

/* Sends a command answered by one line, "OK" or "ERR <TAB> why".
   Returns 1 for OK, 0 for ERR (error_r is the service's reason), -1 with
   error_r when the connection failed. */
int mailmove_admin_client_command(struct mailmove_admin_client *client,
				  const char *const *fields,
				  const char **error_r);

#endif
