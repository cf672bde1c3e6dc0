/*
 * god-init: the entrypoint of every Go-Docker job container (reference 4.2, decision 9).
 *
 * Mounted read-only at /.godocker/god-init and run as root (uid 0) in the container. It needs
 * nothing from the image but /bin/sh (and only for scripts without a shebang):
 *
 *   1. unless root mode, adds the user to /etc/passwd and its groups to /etc/group (a read-only
 *      root filesystem only gives a warning in god.err);
 *   2. writes the start epoch as line 1 of $GOD_INIT_DIR/god.info;
 *   3. forks; the child drops to the user's gid, groups and uid (checked: it never goes on as
 *      root), opens god.log and god.err as the user, and execs $GOD_INIT_DIR/cmd.sh;
 *   4. the parent, PID 1 of the container, forwards signals to the child, reaps every process,
 *      appends the end epoch to god.info and exits with the script's exit code (128 + signal when
 *      the script was killed by a signal, so an OOM-killed script gives 137).
 *
 * A signal sent from outside the container (its sender is not in the container's PID namespace,
 * so the kernel reports sender pid 0: the engine stopping the container) is recorded as it
 * arrives, before it is forwarded, in a new root-owned god.stop holding its number: the server
 * tells an engine stop from a script that exits 143 by it. Not in native mode (no namespace).
 *
 * Environment (every GOD_INIT_* variable is removed before the script runs):
 *   GOD_INIT_LOGIN, GOD_INIT_UID, GOD_INIT_GID, GOD_INIT_GROUPS (comma-separated, may be empty),
 *   GOD_INIT_HOME, GOD_INIT_ROOT ("1": run the script as root), GOD_INIT_DIR (job directory),
 *   and for the native executor only GOD_INIT_NATIVE ("1") and GOD_INIT_CGROUP_PROCS (below).
 *
 * Capabilities it needs (the Docker executor grants only these): CHOWN, DAC_OVERRIDE and FOWNER
 * for /etc and god.info, SETUID and SETGID to drop to the user, KILL to forward signals to the
 * script (which runs as another uid). The kernel clears them all at the setuid to the user.
 *
 * The script always runs with no_new_privs (as Docker's no-new-privileges: setuid binaries give
 * it nothing), whatever the engine was asked for.
 *
 * Exit codes of its own: 126 (bad environment, cannot drop privileges, cannot set up the job
 * directory) and 127 (the script cannot be executed).
 *
 * Exec mode (`god-init --exec PROGRAM [ARG...]`): what the executors run in a job's running
 * container (a command, a terminal) starts through it, as the job's user: it refuses root, sets
 * no_new_privs (the engine may not have: an exec'd process does not descend from the script),
 * removes GOD_INIT_* and execs PROGRAM (127 when not found, 126 when it cannot run).
 *
 * Native mode (GOD_INIT_NATIVE=1, the native executor: no container, run on the host as root with
 * GOD_INIT_DIR the host job directory). Everything above holds, except:
 *   - /etc/passwd and /etc/group are never read nor written (they are the host's);
 *   - it first calls setsid() (the job is a session and process group of its own, that outlives
 *     the server and that the server kills as a whole), becomes a child subreaper (orphans of the
 *     script come back to it and are reaped) and enters the job directory (so that
 *     /proc/<pid>/cwd identifies the job);
 *   - GOD_INIT_CGROUP_PROCS (newline-separated cgroup.procs files) gets its own pid written into
 *     each file before it forks, so the script starts inside its cgroups (race-free); a failure is
 *     a warning in god.err and the job runs without that limit;
 *   - it writes "<pid> <start time in clock ticks since boot>\n" to god.pid at start and the exit
 *     code to god.exit at the end, each atomically (temporary file, then rename) and root-owned:
 *     god.exit is written on every end it sees, its own setup errors included;
 *   - after god.exit is written it SIGKILLs its own process group, so that nothing the script left
 *     running in the background survives the job (a container's end does the same).
 *
 * Built statically with glibc; uses syscalls and plain libc only (no NSS: no getpwnam and such).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SETUP 126
#define EXIT_EXEC 127
#define MAX_GROUPS 1024
#define MAX_FILE (4 * 1024 * 1024)

struct job {
    const char *login;
    uid_t uid;
    gid_t gid;
    gid_t groups[MAX_GROUPS];
    size_t ngroups;
    const char *home;
    int root;
    const char *dir;
    int dirfd;
    int native;
    char *cgroup_procs;
};

/* Warnings gathered before god.err exists; the child writes them there once it is open. */
static char warnings[8192];
static size_t warnings_len;

static volatile pid_t child_pid;

/* For the signal handler: the job directory, and whether outside signals are recorded there. */
static int stop_dirfd = -1;
static volatile sig_atomic_t outside_signal_seen;

/* Set in the forked child: only the supervising process writes god.exit. */
static int in_child;

static void native_write_file(const struct job *job, const char *name, const char *content);

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT};
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* A warning: to the container's stderr now, and to god.err later. */
static void warn(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    write_all(STDERR_FILENO, line, (size_t)n);
    if (warnings_len + (size_t)n <= sizeof(warnings)) {
        memcpy(warnings + warnings_len, line, (size_t)n);
        warnings_len += (size_t)n;
    }
}

/*
 * A fatal error before the script could run: the message goes to the container's stderr and to
 * god.err in the job directory (created if needed), then the process exits with `code`.
 * `owner_known` tells whether job->uid/gid may be used to give god.err to the user.
 */
static void die(const struct job *job, int owner_known, int code, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    write_all(STDERR_FILENO, line, (size_t)n);
    if (job != NULL && job->dirfd >= 0) {
        int fd = openat(job->dirfd, "god.err", O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
                        0644);
        if (fd >= 0) {
            write_all(fd, warnings, warnings_len);
            write_all(fd, line, (size_t)n);
            if (owner_known && !job->root && geteuid() == 0)
                (void)fchown(fd, job->uid, job->gid);
            close(fd);
        }
        if (job->native && !in_child) {
            char exit_line[32];
            snprintf(exit_line, sizeof(exit_line), "%d\n", code);
            native_write_file(job, "god.exit", exit_line);
        }
    }
    _exit(code);
}

static int parse_id(const char *s, unsigned long *out)
{
    char *end;
    if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v >= (unsigned long)UINT_MAX)
        return -1;
    *out = v;
    return 0;
}

static char *env_copy(const char *name)
{
    const char *v = getenv(name);
    return v == NULL ? NULL : strdup(v);
}

/* Remove GOD_INIT_* (restart the scan after each removal: environ shifts). */
static void clear_init_env(void)
{
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; e != NULL && *e != NULL; e++) {
            if (strncmp(*e, "GOD_INIT_", 9) == 0) {
                char name[256];
                size_t len = strcspn(*e, "=");
                if (len >= sizeof(name))
                    len = sizeof(name) - 1;
                memcpy(name, *e, len);
                name[len] = '\0';
                if (unsetenv(name) == 0) {
                    again = 1;
                    break;
                }
            }
        }
    }
}

/* Read the environment into `job` and remove every GOD_INIT_* variable. */
static void read_job(struct job *job)
{
    unsigned long v;
    char *uid_s = env_copy("GOD_INIT_UID");
    char *gid_s = env_copy("GOD_INIT_GID");
    char *groups_s = env_copy("GOD_INIT_GROUPS");
    char *root_s = env_copy("GOD_INIT_ROOT");
    char *native_s = env_copy("GOD_INIT_NATIVE");

    memset(job, 0, sizeof(*job));
    job->dirfd = -1;
    job->native = native_s != NULL && strcmp(native_s, "1") == 0;
    job->cgroup_procs = env_copy("GOD_INIT_CGROUP_PROCS");
    job->login = env_copy("GOD_INIT_LOGIN");
    job->home = env_copy("GOD_INIT_HOME");
    job->dir = env_copy("GOD_INIT_DIR");
    job->root = root_s != NULL && strcmp(root_s, "1") == 0;
    if (job->dir == NULL || job->dir[0] != '/')
        job->dir = "/mnt/go-docker";

    clear_init_env();

    job->dirfd = open(job->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (job->dirfd < 0)
        die(job, 0, EXIT_SETUP, "god-init: cannot open the job directory %s: %s", job->dir,
            strerror(errno));

    if (job->root)
        return;
    if (job->login == NULL || job->login[0] == '\0' || strpbrk(job->login, ":\n/") != NULL)
        die(job, 0, EXIT_SETUP, "god-init: GOD_INIT_LOGIN is missing or invalid");
    if (parse_id(uid_s, &v) != 0)
        die(job, 0, EXIT_SETUP, "god-init: GOD_INIT_UID is missing or invalid");
    job->uid = (uid_t)v;
    if (parse_id(gid_s, &v) != 0)
        die(job, 0, EXIT_SETUP, "god-init: GOD_INIT_GID is missing or invalid");
    job->gid = (gid_t)v;
    if (job->uid == 0)
        die(job, 0, EXIT_SETUP, "god-init: refusing to run a user job as uid 0 (use root mode)");
    if (job->home == NULL || job->home[0] != '/' || strpbrk(job->home, ":\n") != NULL)
        job->home = job->dir;
    if (groups_s != NULL) {
        for (char *save = NULL, *tok = strtok_r(groups_s, ",", &save); tok != NULL;
             tok = strtok_r(NULL, ",", &save)) {
            if (*tok == '\0')
                continue;
            if (parse_id(tok, &v) != 0)
                die(job, 1, EXIT_SETUP, "god-init: GOD_INIT_GROUPS holds an invalid gid: %s", tok);
            if (job->ngroups >= MAX_GROUPS - 1)
                die(job, 1, EXIT_SETUP, "god-init: too many secondary groups");
            job->groups[job->ngroups++] = (gid_t)v;
        }
    }
}

/* ---- /etc/passwd and /etc/group ---- */

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

static int buf_add(struct buf *b, const char *s, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 4096 : b->cap;
        while (b->len + len + 1 > cap)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (p == NULL)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

/*
 * Open /etc/<name> for reading or writing without leaving the container's root filesystem: /etc
 * and the file must not be symlinks and must be on the same filesystem as "/" (an image could
 * otherwise point /etc/passwd into a mounted volume and have root write there).
 */
static int open_etc(const char *name, int flags, dev_t rootdev)
{
    struct stat st;
    int etc = open("/etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (etc < 0)
        return -1;
    if (fstat(etc, &st) != 0 || st.st_dev != rootdev) {
        close(etc);
        errno = EXDEV;
        return -1;
    }
    int fd = openat(etc, name, flags | O_NOFOLLOW | O_CLOEXEC, 0644);
    int saved = errno;
    close(etc);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != rootdev) {
        close(fd);
        errno = EXDEV;
        return -1;
    }
    return fd;
}

/* Whole content of /etc/<name> (empty when missing). -1 on error. */
static int read_etc(const char *name, dev_t rootdev, struct buf *out)
{
    int fd = open_etc(name, O_RDONLY, rootdev);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || out->len + (size_t)n > MAX_FILE || buf_add(out, chunk, (size_t)(n > 0 ? n : 0)) != 0) {
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
    }
    close(fd);
    return 0;
}

static int write_etc(const char *name, dev_t rootdev, const struct buf *content)
{
    int fd = open_etc(name, O_WRONLY | O_CREAT | O_TRUNC, rootdev);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < content->len) {
        ssize_t n = write(fd, content->data + off, content->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        off += (size_t)n;
    }
    return close(fd);
}

/* Field `index` (0-based) of a colon-separated line, copied into `out`. */
static void field(const char *line, size_t len, int index, char *out, size_t outsz)
{
    size_t start = 0, i = 0;
    int f = 0;
    out[0] = '\0';
    for (; i <= len; i++) {
        if (i == len || line[i] == ':') {
            if (f == index) {
                size_t n = i - start;
                if (n >= outsz)
                    n = outsz - 1;
                memcpy(out, line + start, n);
                out[n] = '\0';
                return;
            }
            f++;
            start = i + 1;
        }
    }
}

typedef int (*line_fn)(const char *line, size_t len, void *ctx);

static void each_line(const struct buf *b, line_fn fn, void *ctx)
{
    size_t pos = 0;
    while (pos < b->len) {
        const char *nl = memchr(b->data + pos, '\n', b->len - pos);
        size_t len = nl != NULL ? (size_t)(nl - (b->data + pos)) : b->len - pos;
        if (fn(b->data + pos, len, ctx) != 0)
            return;
        pos += len + 1;
    }
}

struct passwd_ctx {
    const struct job *job;
    char uid[32];
    struct buf out;
    int failed;
};

static int keep_passwd_line(const char *line, size_t len, void *p)
{
    struct passwd_ctx *c = p;
    char name[256], uid[32];
    if (len == 0)
        return 0;
    field(line, len, 0, name, sizeof(name));
    field(line, len, 2, uid, sizeof(uid));
    if (strcmp(name, c->job->login) == 0 || strcmp(uid, c->uid) == 0)
        return 0;
    if (buf_add(&c->out, line, len) != 0 || buf_add(&c->out, "\n", 1) != 0)
        c->failed = 1;
    return c->failed;
}

static void setup_passwd(const struct job *job, dev_t rootdev)
{
    struct buf in = {0};
    struct passwd_ctx c = {.job = job};
    char entry[PATH_MAX + 512];

    snprintf(c.uid, sizeof(c.uid), "%lu", (unsigned long)job->uid);
    if (read_etc("passwd", rootdev, &in) != 0) {
        warn("god-init: warning: cannot read /etc/passwd: %s", strerror(errno));
        goto out;
    }
    each_line(&in, keep_passwd_line, &c);
    int n = snprintf(entry, sizeof(entry), "%s:x:%lu:%lu::%s:/bin/sh\n", job->login,
                     (unsigned long)job->uid, (unsigned long)job->gid, job->home);
    if (c.failed || n < 0 || (size_t)n >= sizeof(entry) || buf_add(&c.out, entry, (size_t)n) != 0) {
        warn("god-init: warning: cannot build /etc/passwd (out of memory)");
        goto out;
    }
    if (write_etc("passwd", rootdev, &c.out) != 0)
        warn("god-init: warning: cannot write /etc/passwd (%s): the user has no name in the container",
             strerror(errno));
out:
    free(in.data);
    free(c.out.data);
}

struct group_ctx {
    const char *name;
    gid_t gid;
    int found;
};

static int find_group(const char *line, size_t len, void *p)
{
    struct group_ctx *c = p;
    char name[256], gid[32];
    if (len == 0)
        return 0;
    field(line, len, 0, name, sizeof(name));
    field(line, len, 2, gid, sizeof(gid));
    if (c->name != NULL && strcmp(name, c->name) == 0)
        c->found = 1;
    if (c->name == NULL) {
        unsigned long v;
        if (parse_id(gid, &v) == 0 && (gid_t)v == c->gid)
            c->found = 1;
    }
    return c->found;
}

static int has_gid(const struct buf *b, gid_t gid)
{
    struct group_ctx c = {.name = NULL, .gid = gid};
    each_line(b, find_group, &c);
    return c.found;
}

static int has_group_name(const struct buf *b, const char *name)
{
    struct group_ctx c = {.name = name};
    each_line(b, find_group, &c);
    return c.found;
}

static void setup_group(const struct job *job, dev_t rootdev)
{
    struct buf b = {0};
    char entry[512];
    int changed = 0;

    if (read_etc("group", rootdev, &b) != 0) {
        warn("god-init: warning: cannot read /etc/group: %s", strerror(errno));
        goto out;
    }
    if (b.len > 0 && b.data[b.len - 1] != '\n' && buf_add(&b, "\n", 1) != 0)
        goto oom;
    if (!has_gid(&b, job->gid)) {
        int n;
        if (!has_group_name(&b, job->login))
            n = snprintf(entry, sizeof(entry), "%s:x:%lu:\n", job->login, (unsigned long)job->gid);
        else
            n = snprintf(entry, sizeof(entry), "group%lu:x:%lu:\n", (unsigned long)job->gid,
                         (unsigned long)job->gid);
        if (n < 0 || (size_t)n >= sizeof(entry) || buf_add(&b, entry, (size_t)n) != 0)
            goto oom;
        changed = 1;
    }
    for (size_t i = 0; i < job->ngroups; i++) {
        gid_t g = job->groups[i];
        if (has_gid(&b, g))
            continue;
        int n = snprintf(entry, sizeof(entry), "group%lu:x:%lu:%s\n", (unsigned long)g, (unsigned long)g,
                         job->login);
        if (n < 0 || (size_t)n >= sizeof(entry) || buf_add(&b, entry, (size_t)n) != 0)
            goto oom;
        changed = 1;
    }
    if (changed && write_etc("group", rootdev, &b) != 0)
        warn("god-init: warning: cannot write /etc/group (%s): the user's groups have no names",
             strerror(errno));
    goto out;
oom:
    warn("god-init: warning: cannot build /etc/group (out of memory)");
out:
    free(b.data);
}

/* ---- god.info ---- */

static void info_write(const struct job *job, int first, long long epoch)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "%lld\n", epoch);
    int fd;
    if (first) {
        /* A previous attempt may have left anything there, a symlink included: start afresh. */
        if (unlinkat(job->dirfd, "god.info", 0) != 0 && errno != ENOENT)
            warn("god-init: warning: cannot replace god.info: %s", strerror(errno));
        fd = openat(job->dirfd, "god.info", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    } else {
        fd = openat(job->dirfd, "god.info", O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        warn("god-init: warning: cannot write god.info: %s", strerror(errno));
        return;
    }
    write_all(fd, line, (size_t)n);
    if (!job->root)
        (void)fchown(fd, job->uid, job->gid);
    close(fd);
}

/* ---- native mode: god.pid, god.exit, cgroups ---- */

/*
 * Replace <job dir>/<name> by a new root-owned file holding `content`, atomically: a temporary
 * file (never through a symlink) renamed over the name, so that a reader sees the whole content
 * or nothing.
 */
static void native_write_file(const struct job *job, const char *name, const char *content)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
    int fd = openat(job->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
        /* A leftover (or anything the user put there, a symlink included): replace it. */
        if (unlinkat(job->dirfd, tmp, 0) != 0)
            warn("god-init: warning: cannot replace %s: %s", tmp, strerror(errno));
        fd = openat(job->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    }
    if (fd < 0) {
        warn("god-init: warning: cannot write %s: %s", name, strerror(errno));
        return;
    }
    write_all(fd, content, strlen(content));
    close(fd);
    if (renameat(job->dirfd, tmp, job->dirfd, name) != 0) {
        warn("god-init: warning: cannot write %s: %s", name, strerror(errno));
        (void)unlinkat(job->dirfd, tmp, 0);
    }
}

/* Field 22 of /proc/self/stat: the start time in clock ticks since boot (0 if unknown). */
static unsigned long long self_start_time(void)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    p++;
    /* After the command name come fields 3 (state) ... 22 (starttime). */
    for (int field_no = 3; field_no < 22; field_no++) {
        p = strchr(p + 1, ' ');
        if (p == NULL)
            return 0;
    }
    return strtoull(p + 1, NULL, 10);
}

/* Write our pid into every cgroup.procs file listed in GOD_INIT_CGROUP_PROCS. */
static void native_join_cgroups(const struct job *job)
{
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (job->cgroup_procs == NULL)
        return;
    for (char *save = NULL, *path = strtok_r(job->cgroup_procs, "\n", &save); path != NULL;
         path = strtok_r(NULL, "\n", &save)) {
        if (path[0] != '/')
            continue;
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, pid, (size_t)len) != len)
            warn("god-init: warning: cannot join the cgroup %s (%s): this limit does not apply", path,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
    }
}

static void native_setup(const struct job *job)
{
    char line[64];
    if (setsid() < 0)
        warn("god-init: warning: setsid failed: %s", strerror(errno));
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        warn("god-init: warning: cannot become a subreaper: %s", strerror(errno));
    if (fchdir(job->dirfd) != 0)
        warn("god-init: warning: cannot enter %s: %s", job->dir, strerror(errno));
    native_join_cgroups(job);
    snprintf(line, sizeof(line), "%ld %llu\n", (long)getpid(), self_start_time());
    native_write_file(job, "god.pid", line);
}

/* ---- the child: become the user and run the script ---- */

static int open_output(const char *name)
{
    return open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

/* Name of the interpreter on cmd.sh's shebang line, for a clearer error. */
static void shebang(const char *path, char *out, size_t outsz)
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char head[256];
    ssize_t n = read(fd, head, sizeof(head) - 1);
    close(fd);
    if (n < 3 || head[0] != '#' || head[1] != '!')
        return;
    head[n] = '\0';
    char *p = head + 2;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strcspn(p, " \t\r\n");
    if (len >= outsz)
        len = outsz - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

static void run_child(const struct job *job)
{
    char script[PATH_MAX];
    sigset_t none;

    /* Back to default dispositions and an empty mask (both survive exec otherwise). */
    for (size_t i = 0; i < NFORWARDED; i++)
        signal(forwarded[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (!job->root) {
        gid_t groups[MAX_GROUPS];
        size_t n = 0;
        for (size_t i = 0; i < job->ngroups; i++)
            groups[n++] = job->groups[i];
        groups[n++] = job->gid;
        if (setgroups(n, groups) != 0)
            die(job, 1, EXIT_SETUP, "god-init: setgroups failed: %s", strerror(errno));
        if (setgid(job->gid) != 0)
            die(job, 1, EXIT_SETUP, "god-init: setgid(%lu) failed: %s", (unsigned long)job->gid,
                strerror(errno));
        if (setuid(job->uid) != 0)
            die(job, 1, EXIT_SETUP, "god-init: setuid(%lu) failed: %s", (unsigned long)job->uid,
                strerror(errno));
        /* Never go on as root: check the drop, and that it cannot be undone. */
        if (getuid() != job->uid || geteuid() != job->uid || getgid() != job->gid ||
            getegid() != job->gid)
            die(job, 1, EXIT_SETUP, "god-init: could not become uid %lu gid %lu", (unsigned long)job->uid,
                (unsigned long)job->gid);
        if (setuid(0) == 0 || seteuid(0) == 0)
            die(job, 0, EXIT_SETUP, "god-init: the job could get root back after dropping it; refusing to run");
        setenv("HOME", job->home, 1);
        setenv("USER", job->login, 1);
        setenv("LOGNAME", job->login, 1);
    } else {
        if (job->home != NULL && job->home[0] == '/')
            setenv("HOME", job->home, 1);
        setenv("USER", "root", 1);
        setenv("LOGNAME", "root", 1);
    }

    if (fchdir(job->dirfd) != 0 && chdir(job->dir) != 0)
        die(job, 1, EXIT_SETUP, "god-init: cannot enter the job directory %s: %s", job->dir,
            strerror(errno));
    /* As Docker's no-new-privileges: no setuid binary (sudo, su...) gives the script privileges
     * it was not started with. Set here, whatever the engine was asked for: on the host, and on
     * engines that cannot ask for it (Swarm services, Slurm, Kubernetes without a policy). */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        die(job, 1, EXIT_SETUP, "god-init: cannot set no_new_privs: %s", strerror(errno));
    setenv("PWD", job->dir, 1);

    /* Opened as the user, so that the files belong to the user. */
    int out = open_output("god.log");
    if (out < 0)
        die(job, 1, EXIT_SETUP, "god-init: cannot open %s/god.log: %s", job->dir, strerror(errno));
    int err = open_output("god.err");
    if (err < 0)
        die(job, 1, EXIT_SETUP, "god-init: cannot open %s/god.err: %s", job->dir, strerror(errno));
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
        dup2(err, STDERR_FILENO) < 0)
        die(job, 1, EXIT_SETUP, "god-init: cannot redirect the script's input and output: %s",
            strerror(errno));
    write_all(STDERR_FILENO, warnings, warnings_len);

    int n = snprintf(script, sizeof(script), "%s/cmd.sh", job->dir);
    if (n < 0 || (size_t)n >= sizeof(script))
        die(job, 1, EXIT_SETUP, "god-init: job directory path too long");
    char *const argv[] = {script, NULL};
    execv(script, argv);
    int first = errno;
    if (first == ENOEXEC) {
        /* No shebang: run it with /bin/sh, as a shell would. */
        char *const sh_argv[] = {"sh", script, NULL};
        execv("/bin/sh", sh_argv);
        char msg[PATH_MAX + 256];
        int m = snprintf(msg, sizeof(msg),
                         "god-init: cannot run %s: it has no #! line and /bin/sh cannot be executed "
                         "in this image: %s\n",
                         script, strerror(errno));
        write_all(STDERR_FILENO, msg, m > 0 ? (size_t)m : 0);
        _exit(EXIT_EXEC);
    }
    char interp[200];
    char msg[PATH_MAX + 512];
    int m;
    shebang(script, interp, sizeof(interp));
    if (first == ENOENT && interp[0] != '\0' && access(script, F_OK) == 0)
        m = snprintf(msg, sizeof(msg),
                     "god-init: cannot run %s: its interpreter %s is not in this image\n", script, interp);
    else
        m = snprintf(msg, sizeof(msg), "god-init: cannot run %s: %s\n", script, strerror(first));
    write_all(STDERR_FILENO, msg, m > 0 ? (size_t)m : 0);
    _exit(EXIT_EXEC);
}

/* ---- the parent: PID 1 ---- */

/* Record the first signal from outside the container in god.stop (async-signal-safe calls only). */
static void record_outside_signal(int sig)
{
    char line[8];
    size_t n = 0;
    if (stop_dirfd < 0 || outside_signal_seen)
        return;
    outside_signal_seen = 1;
    if (sig >= 10)
        line[n++] = (char)('0' + sig / 10);
    line[n++] = (char)('0' + sig % 10);
    line[n++] = '\n';
    /* Anything the job left under that name (a symlink included) is replaced, never followed. */
    (void)unlinkat(stop_dirfd, "god.stop", 0);
    int fd = openat(stop_dirfd, "god.stop", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) {
        write_all(fd, line, n);
        close(fd);
    }
}

static void forward(int sig, siginfo_t *info, void *context)
{
    (void)context;
    if (info != NULL && info->si_code == SI_USER && info->si_pid == 0)
        record_outside_signal(sig);
    pid_t pid = child_pid;
    if (pid > 0)
        kill(pid, sig);
}

/* ---- exec mode: a command in a running job (an exec, a terminal) ---- */

/* god-init --exec PROGRAM [ARG...], run by the engine as the job's user in its running container:
 * runs PROGRAM (searched in PATH) with no_new_privs, as the script has it. An exec'd process does
 * not descend from the script: it has no_new_privs only if the engine gave it to the container,
 * which some cannot (Swarm services before Engine API 1.46). Never as root. */
static int exec_mode(char **argv)
{
    if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0) {
        fputs("god-init: --exec never runs a command as root\n", stderr);
        return EXIT_SETUP;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        fprintf(stderr, "god-init: cannot set no_new_privs: %s\n", strerror(errno));
        return EXIT_SETUP;
    }
    clear_init_env();
    execvp(argv[0], argv);
    int e = errno;
    fprintf(stderr, "god-init: cannot run %s: %s\n", argv[0], strerror(e));
    /* As a shell: 127 not found, 126 found but not runnable. */
    return e == ENOENT ? EXIT_EXEC : EXIT_SETUP;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--exec") == 0)
        return exec_mode(argv + 2);

    struct job job;
    struct stat rootst;
    sigset_t block, old;
    struct sigaction sa;

    read_job(&job);

    if (job.native)
        native_setup(&job);

    if (!job.root && !job.native) {
        if (stat("/", &rootst) != 0) {
            warn("god-init: warning: cannot stat /: %s; /etc is left as it is", strerror(errno));
        } else {
            setup_passwd(&job, rootst.st_dev);
            setup_group(&job, rootst.st_dev);
        }
    }

    info_write(&job, 1, (long long)time(NULL));
    if (!job.native) {
        /* A previous attempt's record is not this one's. */
        if (unlinkat(job.dirfd, "god.stop", 0) != 0 && errno != ENOENT)
            warn("god-init: warning: cannot remove god.stop: %s", strerror(errno));
        stop_dirfd = job.dirfd;
    }

    /* Signals that arrive before the child's pid is known wait until it is. */
    sigemptyset(&block);
    for (size_t i = 0; i < NFORWARDED; i++)
        sigaddset(&block, forwarded[i]);
    sigprocmask(SIG_BLOCK, &block, &old);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < NFORWARDED; i++)
        sigaction(forwarded[i], &sa, NULL);

    pid_t pid = fork();
    if (pid < 0)
        die(&job, 1, EXIT_SETUP, "god-init: fork failed: %s", strerror(errno));
    if (pid == 0) {
        in_child = 1;
        run_child(&job);
    }
    child_pid = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);

    int code = EXIT_SETUP;
    for (;;) {
        int status;
        pid_t done = waitpid(-1, &status, 0);
        if (done < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: cannot happen before the child is reaped */
        }
        if (done != pid)
            continue; /* an orphan: reaped, nothing else to do */
        if (WIFEXITED(status)) {
            code = WEXITSTATUS(status);
            break;
        }
        if (WIFSIGNALED(status)) {
            code = 128 + WTERMSIG(status);
            break;
        }
    }

    info_write(&job, 0, (long long)time(NULL));
    if (job.native) {
        char exit_line[32];
        snprintf(exit_line, sizeof(exit_line), "%d\n", code);
        native_write_file(&job, "god.exit", exit_line);
        /* Whatever the script left in the background ends with the job, as in a container. Only
         * when the group is really ours: without setsid() it would be the server's. */
        if (getsid(0) == getpid())
            kill(0, SIGKILL);
    }
    return code;
}
