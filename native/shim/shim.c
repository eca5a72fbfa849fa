/*
 * muster-shim: the supervisor of one task attempt (src/agent/README.md, "The shim"). Plain POSIX C11 plus
 * two Linux calls (prctl, /proc is the agent's business), no allocation after the launch.
 *
 * The agent spawns one shim per attempt, detached (its own session), so the shim outlives the agent. It:
 *   1. reads the task's environment from stdin: entries "KEY=VALUE\0", ended by an empty entry "\0"
 *      (stdin closing before that empty entry means the agent went away mid-launch: status "aborted");
 *   2. forks the task into its own process group (setpgid), optionally as another user (--uid/--gid,
 *      no supplementary groups), in --cwd, with stdin /dev/null and the shim's stdout and stderr (the
 *      attempt's log files), and executes FILE with ARGS (found on the task's PATH);
 *   3. writes "started PGID\n" on fd 3 when the agent gave it one (the group id is the task's pid);
 *   4. waits for the task's leader, forwarding SIGTERM, SIGINT, SIGHUP and SIGQUIT to the task's group,
 *      and reads the agent's lease file every LEASE_POLL_MS, or at its deadline when that comes sooner:
 *      once the lease has run out (its deadline, in nanoseconds of CLOCK_MONOTONIC, is past) it SIGKILLs
 *      the task's group and remembers it did: the fence, which holds while the agent is stopped, hung or
 *      dead;
 *   5. when the leader has exited, SIGKILLs whatever is left of its group, writes ATTEMPT_DIR/status
 *      (status.tmp, then rename: a reader sees all of it or nothing) and exits 0.
 *
 * usage: muster-shim --dir ATTEMPT_DIR --lease LEASE_FILE [--cwd DIR] [--uid UID --gid GID] -- FILE [ARG...]
 *
 * The status file is one line: "exit CODE", "signal NUMBER", "error ERRNO STAGE" (the task could not be
 * started; STAGE is one of stdin, fork, chdir, setgroups, setgid, setuid, exec) or "aborted"; then the
 * line "fenced" when the shim killed the task at the fence. The lease file starts with the deadline as a
 * decimal number, or "none" (no fence); a missing or unreadable lease is no fence.
 *
 * Nothing is fsynced: what the files guard against is the agent process dying, and a crash of the machine
 * kills the task along with the shim, so there is no status to keep then.
 *
 * Exit status of the shim itself: 0 when it wrote a status, 1 when it could not, 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* setgroups */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

extern char **environ;

/* How often the lease is read while the task runs, to see it renewed. The fence itself is not late by this
 * much: when the deadline read is nearer than this, the shim wakes at the deadline and reads again. */
#define LEASE_POLL_MS 200
/* The most environment bytes read from stdin: far past what a job spec may carry (64 KiB in all). */
#define MAX_ENV_BYTES (4 * 1024 * 1024)
/* The most environment entries: every entry is at least "K=\0". */
#define MAX_ENV_ENTRIES (MAX_ENV_BYTES / 3)
/* The agent's channel, when it passed one. */
#define CONTROL_FD 3
/* What a child that could not start exits with (its status is replaced by "error ..." anyway). */
#define EXIT_CANNOT_START 127

enum stage { STAGE_STDIN, STAGE_FORK, STAGE_CHDIR, STAGE_SETGROUPS, STAGE_SETGID, STAGE_SETUID, STAGE_EXEC };
static const char *const stage_names[] = { "stdin", "fork", "chdir", "setgroups", "setgid", "setuid", "exec" };

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
#define FORWARDED_COUNT (sizeof forwarded / sizeof forwarded[0])

struct options {
  const char *dir;
  const char *lease;
  const char *cwd;
  long uid; /* -1: not given */
  long gid;
  char **argv; /* FILE ARG... */
};

static void usage(const char *why) {
  fprintf(stderr, "muster-shim: %s\nusage: muster-shim --dir ATTEMPT_DIR --lease LEASE_FILE [--cwd DIR] [--uid UID --gid GID] -- FILE [ARG...]\n", why);
  exit(2);
}

static long parse_id(const char *text, const char *flag) {
  char *end = NULL;
  errno = 0;
  long n = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || n < 0) {
    fprintf(stderr, "muster-shim: %s %s is not a numeric id\n", flag, text);
    exit(2);
  }
  return n;
}

static struct options parse_options(int argc, char **argv) {
  struct options o = { NULL, NULL, NULL, -1, -1, NULL };
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (i + 1 >= argc) usage("an option is missing its value");
    if (strcmp(a, "--dir") == 0) o.dir = argv[++i];
    else if (strcmp(a, "--lease") == 0) o.lease = argv[++i];
    else if (strcmp(a, "--cwd") == 0) o.cwd = argv[++i];
    else if (strcmp(a, "--uid") == 0) o.uid = parse_id(argv[++i], "--uid");
    else if (strcmp(a, "--gid") == 0) o.gid = parse_id(argv[++i], "--gid");
    else usage("unknown option");
  }
  if (o.dir == NULL || o.lease == NULL) usage("--dir and --lease are required");
  if ((o.uid < 0) != (o.gid < 0)) usage("--uid and --gid go together");
  if (i >= argc) usage("no command after --");
  o.argv = &argv[i];
  return o;
}

/* Writes all of `len` bytes, retrying short writes and interruptions. */
static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Writes ATTEMPT_DIR/status atomically: the whole text into status.tmp, then rename over status. */
static int write_status(const char *dir, const char *text) {
  char tmp[PATH_MAX];
  char final[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s/status.tmp", dir) >= (int)sizeof tmp) return -1;
  if (snprintf(final, sizeof final, "%s/status", dir) >= (int)sizeof final) return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  int failed = write_all(fd, text, strlen(text));
  if (close(fd) != 0) failed = -1;
  if (failed != 0) return -1;
  return rename(tmp, final);
}

static int finish(const char *dir, const char *text) {
  if (write_status(dir, text) == 0) return 0;
  fprintf(stderr, "muster-shim: could not write the status in %s: %s\n", dir, strerror(errno));
  return 1;
}

static unsigned long long monotonic_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (unsigned long long)now.tv_sec * 1000000000ULL + (unsigned long long)now.tv_nsec;
}

/*
 * Reads the lease: 1 and the nanoseconds left before its deadline in `left` (0 once it has run out), or 0
 * when there is no fence (a missing, unreadable or "none" lease).
 */
static int lease_left(const char *path, unsigned long long *left) {
  char text[64];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  if (text[0] < '0' || text[0] > '9') return 0;
  char *end = NULL;
  errno = 0;
  unsigned long long deadline = strtoull(text, &end, 10);
  if (errno != 0 || end == text) return 0;
  unsigned long long now = monotonic_ns();
  *left = deadline > now ? deadline - now : 0;
  return 1;
}

/*
 * Reads the environment from stdin into `env` (pointers into a buffer that lives until exec). Returns 0 when
 * the closing empty entry arrived, 1 when stdin ended before it (the agent went away), -1 on an error.
 */
static int read_environment(char ***env) {
  size_t cap = 64 * 1024;
  size_t len = 0;
  char *buf = malloc(cap);
  if (buf == NULL) return -1;
  for (;;) {
    if (len == cap) {
      if (cap >= MAX_ENV_BYTES) return -1;
      cap *= 2;
      char *grown = realloc(buf, cap);
      if (grown == NULL) return -1;
      buf = grown;
    }
    ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  char **entries = calloc(MAX_ENV_ENTRIES + 1, sizeof *entries);
  if (entries == NULL) return -1;
  size_t count = 0;
  size_t at = 0;
  while (at < len) {
    if (buf[at] == '\0') {
      *env = entries; /* the closing empty entry */
      return 0;
    }
    char *entry = buf + at;
    size_t left = len - at;
    char *nul = memchr(entry, '\0', left);
    if (nul == NULL) break; /* a last entry cut short */
    if (count == MAX_ENV_ENTRIES) return -1;
    entries[count++] = entry;
    at += (size_t)(nul - entry) + 1;
  }
  return 1;
}

/* In the child: reports why it could not start on `report` and exits. */
static void child_failed(int report, enum stage stage) {
  int why[2] = { errno, (int)stage };
  (void)write_all(report, (const char *)why, sizeof why);
  _exit(EXIT_CANNOT_START);
}

/* In the child: becomes the task. Never returns. */
static void become_task(const struct options *o, char **env, int report, pid_t shim) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL); /* ignored dispositions survive exec: give the task the default back */
  signal(SIGCHLD, SIG_DFL);
  setpgid(0, 0);
  int null = open("/dev/null", O_RDONLY);
  if (null >= 0 && null != STDIN_FILENO) {
    dup2(null, STDIN_FILENO);
    close(null);
  }
  close(CONTROL_FD);
  if (o->cwd != NULL && chdir(o->cwd) != 0) child_failed(report, STAGE_CHDIR);
  if (o->uid >= 0) {
    if (setgroups(0, NULL) != 0) child_failed(report, STAGE_SETGROUPS);
    if (setgid((gid_t)o->gid) != 0) child_failed(report, STAGE_SETGID);
    if (setuid((uid_t)o->uid) != 0) child_failed(report, STAGE_SETUID);
  }
#ifdef __linux__
  /* A task without its supervisor has no fence: its leader dies with the shim. Set after setuid, which
   * clears it; checked against a shim that died before it was set. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != shim) _exit(EXIT_CANNOT_START);
#else
  (void)shim;
#endif
  environ = env;
  execvp(o->argv[0], o->argv);
  child_failed(report, STAGE_EXEC);
}

static void on_signal(int sig) {
  (void)sig; /* never runs: the signals are blocked and taken with sigtimedwait */
}

int main(int argc, char **argv) {
  struct options o = parse_options(argc, argv);
  signal(SIGPIPE, SIG_IGN); /* the agent's end of fd 3 may be gone */
  int control = fcntl(CONTROL_FD, F_GETFD) >= 0 ? CONTROL_FD : -1;
  if (control >= 0) fcntl(control, F_SETFD, FD_CLOEXEC);

  char status[64];
  char **env = NULL;
  int got = read_environment(&env);
  if (got == 1) return finish(o.dir, "aborted\n");
  if (got != 0) {
    snprintf(status, sizeof status, "error %d %s\n", errno != 0 ? errno : EIO, stage_names[STAGE_STDIN]);
    return finish(o.dir, status);
  }

  /* Taken with sigtimedwait below; blocked before the fork so none is lost in between. */
  sigset_t waited;
  sigemptyset(&waited);
  sigaddset(&waited, SIGCHLD);
  for (size_t i = 0; i < FORWARDED_COUNT; i++) sigaddset(&waited, forwarded[i]);
  struct sigaction quiet;
  memset(&quiet, 0, sizeof quiet);
  quiet.sa_handler = on_signal;
  sigemptyset(&quiet.sa_mask);
  sigaction(SIGCHLD, &quiet, NULL);
  sigprocmask(SIG_BLOCK, &waited, NULL);

  int report[2];
  if (pipe(report) != 0) {
    snprintf(status, sizeof status, "error %d %s\n", errno, stage_names[STAGE_FORK]);
    return finish(o.dir, status);
  }
  fcntl(report[0], F_SETFD, FD_CLOEXEC);
  fcntl(report[1], F_SETFD, FD_CLOEXEC);
  pid_t shim = getpid();
  pid_t task = fork();
  if (task < 0) {
    snprintf(status, sizeof status, "error %d %s\n", errno, stage_names[STAGE_FORK]);
    return finish(o.dir, status);
  }
  if (task == 0) become_task(&o, env, report[1], shim);
  setpgid(task, task); /* also here: the group exists before either side goes on */
  close(report[1]);

  /* The report pipe closes at exec (close-on-exec): no bytes means the task runs. */
  int why[2];
  ssize_t n;
  do n = read(report[0], why, sizeof why);
  while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == (ssize_t)sizeof why) {
    int code;
    while (waitpid(task, &code, 0) < 0 && errno == EINTR) {
    }
    int stage = why[1] >= 0 && why[1] <= STAGE_EXEC ? why[1] : STAGE_EXEC;
    snprintf(status, sizeof status, "error %d %s\n", why[0], stage_names[stage]);
    return finish(o.dir, status);
  }
  if (control >= 0) {
    char line[32];
    int len = snprintf(line, sizeof line, "started %ld\n", (long)task);
    (void)write_all(control, line, (size_t)len);
    close(control);
  }

  int fenced = 0;
  int code = 0;
  unsigned long long wait_ns = 0; /* the first pass reads the lease at once */
  for (;;) {
    struct timespec poll = { (time_t)(wait_ns / 1000000000ULL), (long)(wait_ns % 1000000000ULL) };
    int sig = sigtimedwait(&waited, NULL, &poll);
    if (sig > 0 && sig != SIGCHLD) kill(-task, sig);
    pid_t done = waitpid(task, &code, WNOHANG);
    if (done == task) break;
    if (done < 0 && errno != EINTR) {
      /* Cannot happen for our own child; do not spin if it does. */
      code = 0;
      snprintf(status, sizeof status, "error %d %s\n", errno, stage_names[STAGE_FORK]);
      kill(-task, SIGKILL);
      return finish(o.dir, status);
    }
    wait_ns = LEASE_POLL_MS * 1000000ULL;
    unsigned long long left = 0;
    if (!fenced && lease_left(o.lease, &left)) {
      if (left == 0) {
        kill(-task, SIGKILL);
        fenced = 1;
      } else if (left < wait_ns) wait_ns = left;
    }
  }
  /* Whatever the leader left in its group (background jobs, pipeline members) ends with it. */
  kill(-task, SIGKILL);
  if (WIFEXITED(code)) snprintf(status, sizeof status, "exit %d\n%s", WEXITSTATUS(code), fenced ? "fenced\n" : "");
  else snprintf(status, sizeof status, "signal %d\n%s", WIFSIGNALED(code) ? WTERMSIG(code) : SIGKILL, fenced ? "fenced\n" : "");
  return finish(o.dir, status);
}
