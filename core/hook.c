/* OCI hooks (runtime-spec config.md, "POSIX-platform hooks"): a program
 * of the runtime's namespaces, run with exactly its path, argv and env,
 * the container's state JSON on stdin, within its timeout.  Its output
 * (stdout and stderr, the last bytes) is kept for the error line. */
#include "sbx.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* the output's tail: what does not fit pushes the oldest bytes out */
static void keep_tail(char *out, size_t cap, size_t *len, const char *b,
		      size_t n)
{
	if (cap < 2)
		return;
	cap--; /* the NUL */
	if (n >= cap) {
		memcpy(out, b + n - cap, cap);
		*len = cap;
	} else {
		if (*len + n > cap) {
			size_t drop = *len + n - cap;
			memmove(out, out + drop, *len - drop);
			*len -= drop;
		}
		memcpy(out + *len, b, n);
		*len += n;
	}
	out[*len] = '\0';
}

/* the hook ended and reaped, unless it was already: through its pidfd, so
 * that a pid reused after the reap is never signalled */
static void end_hook(int pidfd, pid_t pid, bool reaped)
{
	if (reaped)
		return;
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	waitpid(pid, NULL, 0);
}

static int spawn_hook(const struct sbx_hook *h, int in, int outw, pid_t *pid,
		      struct sbx_err *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, outw, 1);
	posix_spawn_file_actions_adddup2(&fa, outw, 2);
	posix_spawnattr_init(&at);
	/* the host's mask and handlers are not the hook's */
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(pid, h->path, &fa, &at, h->argv, h->envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc) {
		sbx_err_set(e, rc, "hooks", "run %s", h->path);
		return -1;
	}
	return 0;
}

int sbx_hook_run(const struct sbx_hook *h, const char *state, size_t len,
		 int *status, char *out, size_t outsz, struct sbx_err *e)
{
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 };
	cleanup_fd int pidfd = -1;
	size_t sent = 0, kept = 0;
	pid_t pid;
	int st = 0;

	if (outsz)
		out[0] = '\0';
	if (pipe2(inp, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		sbx_err_set(e, errno, "hooks", "pipe");
		goto fail;
	}
	if (spawn_hook(h, inp[0], outp[1], &pid, e) < 0)
		goto fail;
	sbx_closep(&inp[0]);
	sbx_closep(&outp[1]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		sbx_err_set(e, errno, "hooks", "pidfd_open");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto fail;
	}
	fcntl(inp[1], F_SETFL, O_NONBLOCK);
	int64_t deadline = h->timeout_s > 0 ?
		sbx_now_ns() + (int64_t)h->timeout_s * 1000000000 : 0;
	bool exited = false;
	while (!exited || outp[0] >= 0) {
		struct pollfd p[3] = { { outp[0], POLLIN, 0 },
				       { inp[1], POLLOUT, 0 },
				       { exited ? -1 : pidfd, POLLIN, 0 } };
		int ms = -1;
		if (deadline) {
			int64_t left = deadline - sbx_now_ns();
			ms = left > 0 ? (int)(left / 1000000) + 1 : 0;
		}
		int n = poll(p, 3, ms);
		if (n < 0 && errno != EINTR) {
			sbx_err_set(e, errno, "hooks", "poll");
			end_hook(pidfd, pid, exited);
			goto fail;
		}
		if (n == 0) { /* its time is up: it and what it started */
			kill(-pid, SIGKILL);
			end_hook(pidfd, pid, exited);
			sbx_err_set(e, ETIMEDOUT, "hooks", "%s, killed after "
				    "its timeout of %d s", h->path, h->timeout_s);
			goto fail;
		}
		if (n < 0)
			continue;
		if (p[0].revents) {
			char b[4096];
			ssize_t r = read(outp[0], b, sizeof b);
			if (r > 0)
				keep_tail(out, outsz, &kept, b, (size_t)r);
			else if (r == 0 || errno != EINTR)
				sbx_closep(&outp[0]);
		}
		if (p[1].revents) {
			ssize_t w = sent < len ? write(inp[1], state + sent,
						      len - sent) : 0;
			if (w > 0)
				sent += (size_t)w;
			/* all of it, or the hook stopped reading: EOF */
			if (sent >= len || (w < 0 && errno != EAGAIN &&
					    errno != EINTR))
				sbx_closep(&inp[1]);
		}
		if (p[2].revents) {
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			exited = true;
			sbx_closep(&inp[1]);
		}
	}
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
fail:
	sbx_closep(&inp[0]);
	sbx_closep(&inp[1]);
	sbx_closep(&outp[0]);
	sbx_closep(&outp[1]);
	return -1;
}
