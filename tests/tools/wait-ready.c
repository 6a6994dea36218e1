/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wait-ready: start a service with a private NOTIFY_SOCKET and return once it has sent READY=1, printing its
 * PID; the service is left running. Tests use it instead of sleeping: it fails (and kills the service) when
 * the service exits first or the timeout passes. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

#define KILL_GRACE_MS 5000

static double arg_timeout = 30.0;
static const char *arg_stdout;
static const char *arg_stderr;
static char **arg_command;

static void help(void) {
        printf("wait-ready [--timeout=SEC] [--stdout=FILE] [--stderr=FILE] -- COMMAND [ARGS...]\n"
               "Runs COMMAND with NOTIFY_SOCKET set to a private socket, waits until it sends READY=1, then\n"
               "prints its PID and exits 0, leaving it running. If COMMAND exits first or SEC (default 30)\n"
               "pass, says so on stderr, kills it and exits 1. Without --stdout, COMMAND's stdout goes to\n"
               "our stderr, so that $(wait-ready ...) returns as soon as the PID is printed.\n");
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help",    no_argument,       NULL, 'h' },
                { "timeout", required_argument, NULL, 't' },
                { "stdout",  required_argument, NULL, 'o' },
                { "stderr",  required_argument, NULL, 'e' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        exit(EXIT_SUCCESS);
                case 't': {
                        char *end;
                        errno = 0;
                        arg_timeout = strtod(optarg, &end);
                        if (errno != 0 || end == optarg || *end != '\0' || !isfinite(arg_timeout) ||
                            arg_timeout <= 0 || arg_timeout > 3600) {
                                fprintf(stderr, "wait-ready: invalid --timeout=%s (seconds, 0 < SEC <= 3600)\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                }
                case 'o':
                        arg_stdout = optarg;
                        break;
                case 'e':
                        arg_stderr = optarg;
                        break;
                case '?':
                        return -EINVAL;
                }

        if (optind >= argc) {
                fprintf(stderr, "wait-ready: no command given (usage: wait-ready [OPTIONS] -- COMMAND ...)\n");
                return -EINVAL;
        }
        arg_command = argv + optind;
        return 0;
}

static long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A random abstract name, so no file needs cleaning up and no other test can collide with ours. */
static int open_notify_socket(char *ret_env, size_t env_size) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint64_t rnd;
        int fd;

        if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd)
                return -errno;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* sun_path[0] stays '\0': abstract namespace. */
        int n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "iotpub-wait-ready/%d/%016llx",
                         (int) getpid(), (unsigned long long) rnd);
        if (bind(fd, (struct sockaddr *) &sa, offsetof(struct sockaddr_un, sun_path) + 1 + n) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        snprintf(ret_env, env_size, "@%s", sa.sun_path + 1);
        return fd;
}

static int redirect(int target, const char *path) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0)
                return -1;
        if (dup2(fd, target) < 0)
                return -1;
        close(fd);
        return 0;
}

/* In the child: set up fds and environment and exec. On failure, errno goes back through errpipe. */
static __attribute__((noreturn)) void run_child(const char *notify, int errpipe) {
        int e;
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (null < 0 || dup2(null, STDIN_FILENO) < 0)
                goto fail;
        if (arg_stderr && redirect(STDERR_FILENO, arg_stderr) < 0)
                goto fail;
        if (arg_stdout ? redirect(STDOUT_FILENO, arg_stdout) < 0 : dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
                goto fail;
        if (setenv("NOTIFY_SOCKET", notify, 1) < 0)
                goto fail;
        execvp(arg_command[0], arg_command);
fail:
        e = errno;
        (void) !write(errpipe, &e, sizeof e);
        _exit(127);
}

static bool datagram_has_ready(const char *buf, size_t n) {
        const char *p = buf, *end = buf + n;

        while (p < end) {
                const char *nl = memchr(p, '\n', end - p);
                size_t len = (nl ? nl : end) - p;

                if (len == 7 && memcmp(p, "READY=1", 7) == 0)
                        return true;
                p += len + 1;
        }
        return false;
}

static void describe_status(int status, char *buf, size_t size) {
        if (WIFEXITED(status))
                snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
                snprintf(buf, size, "ended with wait status 0x%x", (unsigned) status);
}

/* SIGTERM, then SIGKILL after a bounded grace period; always reaps. */
static void kill_child(pid_t pid) {
        long long deadline = now_ms() + KILL_GRACE_MS;
        int status;

        (void) kill(pid, SIGTERM);
        while (now_ms() < deadline) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid || (r < 0 && errno != EINTR))
                        return;
                (void) poll(NULL, 0, 20);
        }
        fprintf(stderr, "wait-ready: %s (pid %d) ignored SIGTERM for %d ms, sending SIGKILL\n", arg_command[0],
                (int) pid, KILL_GRACE_MS);
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, &status, 0);
}

/* Returns 1 when READY=1 arrived, 0 on timeout, -1 when the child has exited (*ret_status set). */
static int wait_for_ready(int notify_fd, pid_t pid, int *ret_status) {
        long long deadline = now_ms() + (long long) (arg_timeout * 1000);
        int pidfd = pidfd_open(pid, 0);

        for (;;) {
                long long left = deadline - now_ms();
                struct pollfd p[2] = {
                        { .fd = notify_fd, .events = POLLIN },
                        { .fd = pidfd, .events = POLLIN },
                };
                char buf[4096];
                ssize_t n;

                if (left <= 0)
                        break;
                /* Without a pidfd (old kernel), look at the child every 100 ms. */
                if (poll(p, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? (int) left : (int) MIN(left, 100)) < 0 &&
                    errno != EINTR)
                        break;
                while ((n = recv(notify_fd, buf, sizeof buf, 0)) > 0)
                        if (datagram_has_ready(buf, n)) {
                                if (pidfd >= 0)
                                        close(pidfd);
                                return 1;
                        }
                if (waitpid(pid, ret_status, WNOHANG) == pid) {
                        if (pidfd >= 0)
                                close(pidfd);
                        return -1;
                }
        }
        if (pidfd >= 0)
                close(pidfd);
        return 0;
}

int main(int argc, char *argv[]) {
        char notify[128], what[128];
        int pipefd[2], status = 0, e, r;
        pid_t pid;

        if (parse_argv(argc, argv) < 0)
                return 2;

        int notify_fd = open_notify_socket(notify, sizeof notify);
        if (notify_fd < 0) {
                fprintf(stderr, "wait-ready: cannot create notify socket: %s\n", strerror(-notify_fd));
                return 1;
        }
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                fprintf(stderr, "wait-ready: pipe: %m\n");
                return 1;
        }

        pid = fork();
        if (pid < 0) {
                fprintf(stderr, "wait-ready: fork: %m\n");
                return 1;
        }
        if (pid == 0)
                run_child(notify, pipefd[1]);

        close(pipefd[1]);
        /* The pipe closes without data on a successful exec, or carries the errno of the failure. */
        if (read(pipefd[0], &e, sizeof e) == (ssize_t) sizeof e) {
                (void) waitpid(pid, &status, 0);
                fprintf(stderr, "wait-ready: cannot start %s: %s\n", arg_command[0], strerror(e));
                return 1;
        }
        close(pipefd[0]);

        r = wait_for_ready(notify_fd, pid, &status);
        if (r > 0) {
                printf("%d\n", (int) pid);
                return fflush(stdout) == 0 ? 0 : 1;
        }
        if (r < 0) {
                describe_status(status, what, sizeof what);
                fprintf(stderr, "wait-ready: %s (pid %d) %s before sending READY=1\n", arg_command[0], (int) pid,
                        what);
                return 1;
        }
        fprintf(stderr, "wait-ready: %s (pid %d) did not send READY=1 within %g s; killing it\n", arg_command[0],
                (int) pid, arg_timeout);
        kill_child(pid);
        return 1;
}
