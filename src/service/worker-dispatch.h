#ifndef WORKER_DISPATCH_H
#define WORKER_DISPATCH_H

struct mailmove_service;

/* Hands due jobs to mailmove-worker processes: one connection to the
   worker socket per run, "JOB <user> [source fields]", then the
   worker's events go to the core until DONE or FAILED. A worker that
   disconnects before either failed the run; a socket that cannot be
   reached fails it at once. Runs the core stops (paused, yielding their
   slot) lose their connection, which tells the worker to stop. Wakes up
   when the core next has work (a retry due, a window closing). */
struct worker_dispatch *
worker_dispatch_init(struct mailmove_service *service, const char *socket_path);
/* Closes the worker connections without failing their runs (the service
   is stopping; the jobs are queued again when it starts). */
void worker_dispatch_deinit(struct worker_dispatch **dispatch);

/* Starts whatever the core says is due, from the ioloop soon after the
   caller returns: a job was queued, a worker slot freed, an admin acted. */
void worker_dispatch_schedule(struct worker_dispatch *dispatch);

#endif
