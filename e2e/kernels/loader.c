// bpfl-loader: loads BPF objects into the running kernel with libbpf, one after the other,
// and prints a block per object that the kernel harness (scripts/kernels.sh) parses:
//
//   === OBJECT <name>
//   === LOADING                              (before each bpf_object__load)
//   libbpf: ...                              (libbpf's warnings, as bpftool prints them)
//   === PROG <prog> <section> OK|FAIL|NOT-LOADED
//   <verifier log, only for a program the kernel rejected>
//   === LOAD-FAILED <name> <error>           (bpf_object__load failed)
//   === RESULT <name> OK|FAIL
//
//   === RUN <prog> <retval>                  (--run: BPF_PROG_TEST_RUN of a loaded raw tracepoint)
//   === RUN-FAILED <prog> <error>
//
// and `=== DONE` at the end. Options come first: `--run` runs every loaded raw tracepoint program
// once with BPF_PROG_TEST_RUN (its return value is the answer a test checks; the current task is
// the loader), and `--btf-custom PATH` relocates CO-RE accesses against PATH instead of the
// running kernel's BTF (libbpf's btf_custom_path). With `--each`, every program is loaded on its own (a fresh
// open with only that program's autoload on), so one rejected program does not hide the verdict
// on the others and the order of programs in the object does not matter (objects with a single
// program or with struct_ops maps are still loaded whole). Built statically (gcc -static ... -lbpf -lelf -lz) so that it
// runs in a busybox initramfs without a C library.
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define LOG_SIZE (16u << 20)
#define MAX_PROGS 256

static int run_programs;
static const char *btf_custom_path;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vprintf(fmt, ap);
}

static void object_name(const char *path, char *out, size_t size)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(out, size, "%s", base);
	size_t n = strlen(out);
	if (n > 2 && strcmp(out + n - 2, ".o") == 0)
		out[n - 2] = 0;
}

static void print_log(const char *log)
{
	size_t n = strlen(log);
	if (n == 0)
		return;
	fputs(log, stdout);
	if (log[n - 1] != '\n')
		putchar('\n');
}

/* One BPF_PROG_TEST_RUN without context (raw tracepoints take none they do not read). */
static void run_program(struct bpf_program *prog, int fd)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int err = bpf_prog_test_run_opts(fd, &opts);
	if (err)
		printf("=== RUN-FAILED %s %s\n", bpf_program__name(prog), strerror(errno));
	else
		printf("=== RUN %s %u\n", bpf_program__name(prog), opts.retval);
}

/*
 * Opens PATH and loads it. With ONLY >= 0, only the program with that index is loaded and
 * reported. Returns 0 when the load succeeded, 1 otherwise; *count gets the number of programs.
 */
static int load_object(const char *path, const char *name, int only, int *count)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = btf_custom_path);
	struct bpf_object *obj = bpf_object__open_file(path, &open_opts);
	if (!obj) {
		int err = errno;
		printf("=== OPEN-FAILED %s\n", strerror(err));
		return 1;
	}

	// No pinning (LIBBPF_PIN_BY_NAME maps would otherwise stay in /sys/fs/bpf).
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);

	// libbpf loads without a log first and, for a program the kernel rejects, retries with
	// log level 1 into the buffer given here (and does not print it itself).
	char *logs[MAX_PROGS] = { 0 };
	struct bpf_program *prog;
	int n = 0;
	bpf_object__for_each_program(prog, obj) {
		if (n == MAX_PROGS)
			break;
		if (only >= 0 && n != only) {
			bpf_program__set_autoload(prog, false);
		} else {
			logs[n] = calloc(1, LOG_SIZE);
			if (logs[n])
				bpf_program__set_log_buf(prog, logs[n], LOG_SIZE);
		}
		n++;
	}
	*count = n;

	printf("=== LOADING\n");
	int err = bpf_object__load(obj);
	int i = 0;
	bpf_object__for_each_program(prog, obj) {
		if (i == n)
			break;
		if (only < 0 || i == only) {
			int fd = bpf_program__fd(prog);
			const char *log = logs[i] ? logs[i] : "";
			const char *state = fd >= 0 ? "OK" : log[0] ? "FAIL" : "NOT-LOADED";
			printf("=== PROG %s %s %s\n", bpf_program__name(prog), bpf_program__section_name(prog), state);
			if (fd < 0)
				print_log(log);
			else if (run_programs && bpf_program__type(prog) == BPF_PROG_TYPE_RAW_TRACEPOINT)
				run_program(prog, fd);
		}
		i++;
	}
	if (err)
		printf("=== LOAD-FAILED %s %s\n", name, strerror(err < 0 ? -err : err));
	bpf_object__close(obj);
	for (i = 0; i < n; i++)
		free(logs[i]);
	return err ? 1 : 0;
}

static int load_one(const char *path, int each)
{
	char name[256];
	object_name(path, name, sizeof(name));
	printf("=== OBJECT %s\n", name);
	int count = 0;
	int failed;
	if (!each) {
		failed = load_object(path, name, -1, &count);
	} else {
		// Count the programs first, without loading. An object with struct_ops maps is loaded
		// whole: libbpf 1.1 crashes when a struct_ops map refers to a program not loaded.
		struct bpf_object *obj = bpf_object__open_file(path, NULL);
		int struct_ops = 0;
		if (obj) {
			struct bpf_program *prog;
			struct bpf_map *map;
			bpf_object__for_each_program(prog, obj)
				count++;
			bpf_object__for_each_map(map, obj)
				struct_ops |= bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS;
			bpf_object__close(obj);
		}
		if (!obj || struct_ops || count <= 1) {
			failed = load_object(path, name, -1, &count);
		} else {
			failed = 0;
			int n = count;
			for (int i = 0; i < n && i < MAX_PROGS; i++)
				failed |= load_object(path, name, i, &count);
		}
	}
	printf("=== RESULT %s %s\n", name, failed ? "FAIL" : "OK");
	return failed;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
	struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };
	setrlimit(RLIMIT_MEMLOCK, &r);
	libbpf_set_print(print_fn);
	int each = 0;
	int first = 1;
	for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
		if (strcmp(argv[first], "--each") == 0)
			each = 1;
		else if (strcmp(argv[first], "--run") == 0)
			run_programs = 1;
		else if (strcmp(argv[first], "--btf-custom") == 0) {
			if (first + 1 == argc) {
				fprintf(stderr, "bpfl-loader: --btf-custom needs a path\n");
				return 2;
			}
			btf_custom_path = argv[++first];
		} else {
			fprintf(stderr, "bpfl-loader: unknown option %s\n", argv[first]);
			return 2;
		}
	}
	int failed = 0;
	for (int i = first; i < argc; i++)
		failed += load_one(argv[i], each);
	printf("=== DONE %d/%d loaded\n", argc - first - failed, argc - first);
	return 0;
}
