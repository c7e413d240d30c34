/* fake_kvm.c - /dev/kvm, the VM fd and the vCPU fd emulated (fake_kvm.h):
 * open()/openat() and ioctl() interposition, system and VM ioctls. */
#include "tests/fuzz/fake_kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RUN_SIZE (3 * 4096)

enum kind { K_NONE, K_SYS, K_VM, K_VCPU };

/* The fds handed out, recognised by inode so that a reused fd number
 * (the VMM closed ours, something else got it) is not mistaken for one. */
static struct {
	int fd;
	ino_t ino;
} fds[4];

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_vcpu vcpu;
static struct kvm_clock_data clock_data;
static bool vcpu_exists, exception_payload, manual_protect;
static struct kvm_userspace_memory_region slot0;

/* The host: an AMD Zen 4 as KVM on the development machine describes it
 * (KVM_GET_SUPPORTED_CPUID, trimmed to the leaves with content). */
static const struct kvm_cpuid_entry2 host_cpuid[] = {
	{ 0x0, 0, 0, 0x00000010, 0x68747541, 0x444d4163, 0x69746e65, { 0 } },
	{ 0x1, 0, 0, 0x00a00f11, 0x01020800, 0x81202000, 0x078bfbff, { 0 } },
	{ 0x6, 0, 0, 0x00000004, 0, 0, 0, { 0 } },
	{ 0x7, 0, 1, 0x00000000, 0x01800002, 0x00000004, 0xa8000000, { 0 } },
	{ 0xb, 0, 1, 0, 0, 0, 0x00000001, { 0 } },
	{ 0xd, 0, 1, 0x00000207, 0x00000988, 0x00000988, 0, { 0 } },
	{ 0xd, 1, 1, 0, 0, 0, 0, { 0 } },
	{ 0xd, 2, 1, 0x00000100, 0x00000240, 0, 0, { 0 } },
	{ 0xd, 9, 1, 0x00000008, 0x00000980, 0, 0, { 0 } },
	{ 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x0000004d, { 0 } },
	{ 0x40000001, 0, 0, 0x01007efb, 0, 0, 0, { 0 } },
	{ 0x80000000, 0, 0, 0x80000022, 0x68747541, 0x444d4163, 0x69746e65, { 0 } },
	{ 0x80000001, 0, 0, 0x00a00f11, 0x40000000, 0x00400393, 0x23d3fbff, { 0 } },
	{ 0x80000005, 0, 0, 0xff40ff40, 0xff40ff40, 0x20080140, 0x20080140, { 0 } },
	{ 0x80000006, 0, 0, 0x48002200, 0x68004200, 0x02006140, 0x08009140, { 0 } },
	{ 0x80000007, 0, 0, 0, 0, 0, 0x00000100, { 0 } },
	{ 0x80000008, 0, 0, 0x00003030, 0x110ad205, 0x00007001, 0, { 0 } },
	{ 0x80000021, 0, 0, 0x18000265, 0, 0x00000006, 0, { 0 } },
};

/* KVM_GET_MSR_INDEX_LIST of the same host. */
static const uint32_t msr_list[] = {
	0x174, 0x175, 0x176, 0xc0000081, 0xc0000083, 0xc0000102, 0xc0000084,
	0xc0000082, 0x10, 0x277, 0xc0010117, 0x48, 0x1d9, 0x1db, 0x1dc, 0x1dd,
	0x1de, 0x12, 0x11, 0x4b564d01, 0x4b564d00, 0x4b564d02, 0x4b564d03,
	0x4b564d04, 0x4b564d06, 0x4b564d07, 0x3b, 0x6e0, 0x10a, 0x345, 0x1a0,
	0x17a, 0x17b, 0x34, 0xce, 0x140, 0xc001011f, 0x1fc, 0x8b, 0xc0010015,
	0x4b564d05,
};

const struct kvm_cpuid_entry2 *fake_kvm_host_cpuid(uint32_t *n)
{
	*n = sizeof(host_cpuid) / sizeof(host_cpuid[0]);
	return host_cpuid;
}

const uint32_t *fake_kvm_msr_list(uint32_t *n)
{
	*n = sizeof(msr_list) / sizeof(msr_list[0]);
	return msr_list;
}

int fake_kvm_reject(const char *ioctl_name, const char *fmt, ...)
{
	const char *lenient = getenv("FAKE_KVM_LENIENT");
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!lenient || strcmp(lenient, "1")) {
		fprintf(stderr, "fake_kvm: %s: %s: an invalid value reached KVM; the "
			"loader must refuse it first\n", ioctl_name, why);
		abort();
	}
	errno = EINVAL;
	return -1;
}

static int new_fd(enum kind k, const char *name, off_t size)
{
	struct stat st;
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if ((size && ftruncate(fd, size) < 0) || fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	fds[k].fd = fd;
	fds[k].ino = st.st_ino;
	return fd;
}

static enum kind kind_of(int fd)
{
	struct stat st;

	for (int k = K_SYS; k <= K_VCPU; k++)
		if (fds[k].ino && fds[k].fd == fd && fstat(fd, &st) == 0 &&
		    st.st_ino == fds[k].ino)
			return (enum kind)k;
	return K_NONE;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

static int open_kvm(void)
{
	int fd;

	pthread_mutex_lock(&fake_lock);
	fd = new_fd(K_SYS, "fake-kvm", 0);
	pthread_mutex_unlock(&fake_lock);
	return fd;
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	if (!strcmp(path, "/dev/kvm"))
		return open_kvm();
	return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return openat(AT_FDCWD, path, flags, mode);
}

static int fill_cpuid(struct kvm_cpuid2 *c)
{
	uint32_t n;
	const struct kvm_cpuid_entry2 *e = fake_kvm_host_cpuid(&n);

	if (c->nent < n) {
		c->nent = n;
		errno = E2BIG;
		return -1;
	}
	c->nent = n;
	memcpy(c->entries, e, n * sizeof(*e));
	return 0;
}

static int sys_ioctl(unsigned long req, unsigned long arg)
{
	switch (req) {
	case KVM_GET_API_VERSION:
		return KVM_API_VERSION;
	case KVM_CHECK_EXTENSION:
		switch (arg) {
		case KVM_CAP_USER_MEMORY: case KVM_CAP_IMMEDIATE_EXIT:
		case KVM_CAP_VCPU_EVENTS: case KVM_CAP_DEBUGREGS: case KVM_CAP_XCRS:
		case KVM_CAP_XSAVE: case KVM_CAP_GET_TSC_KHZ: case KVM_CAP_TSC_CONTROL:
		case KVM_CAP_EXCEPTION_PAYLOAD: case KVM_CAP_EXT_CPUID:
		case KVM_CAP_MP_STATE: case KVM_CAP_SET_TSS_ADDR:
		case KVM_CAP_IRQCHIP: case KVM_CAP_PIT2:
			return 1;
		case KVM_CAP_XSAVE2:
			return FAKE_KVM_XSAVE_SIZE;
		case KVM_CAP_ADJUST_CLOCK:
			return KVM_CLOCK_TSC_STABLE;
		case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
			return KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;
		case KVM_CAP_MAX_VCPUS: case KVM_CAP_NR_VCPUS:
			return 1;
		default:
			return 0;
		}
	case KVM_CREATE_VM:
		memset(&clock_data, 0, sizeof(clock_data));
		memset(&slot0, 0, sizeof(slot0));
		vcpu_exists = exception_payload = manual_protect = false;
		fake_irqchip_reset();
		return new_fd(K_VM, "fake-kvm-vm", 0);
	case KVM_GET_VCPU_MMAP_SIZE:
		return RUN_SIZE;
	case KVM_GET_SUPPORTED_CPUID:
		return fill_cpuid((struct kvm_cpuid2 *)arg);
	case KVM_GET_EMULATED_CPUID:
		((struct kvm_cpuid2 *)arg)->nent = 0;
		return 0;
	case KVM_GET_MSR_INDEX_LIST: {
		struct kvm_msr_list *l = (struct kvm_msr_list *)arg;
		uint32_t n;
		const uint32_t *idx = fake_kvm_msr_list(&n);

		if (l->nmsrs < n) {
			l->nmsrs = n;
			errno = E2BIG;
			return -1;
		}
		l->nmsrs = n;
		memcpy(l->indices, idx, n * sizeof(*idx));
		return 0;
	}
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		((struct kvm_msr_list *)arg)->nmsrs = 0;
		return 0;
	default:
		fprintf(stderr, "fake_kvm: /dev/kvm ioctl 0x%lx is not emulated; add it to "
			"tests/fuzz/fake_kvm.c\n", req);
		abort();
	}
}

static int create_vcpu(unsigned long id)
{
	void *run;
	int fd;

	if (id != 0 || vcpu_exists) {
		errno = EEXIST;
		return -1;
	}
	fd = new_fd(K_VCPU, "fake-kvm-vcpu", RUN_SIZE);
	if (fd < 0)
		return -1;
	/* Our own view of the run page, shared with the VMM's mapping. */
	run = mmap(NULL, RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		close(fd);
		return -1;
	}
	if (vcpu.run)
		munmap(vcpu.run, RUN_SIZE);
	fake_vcpu_reset(&vcpu);
	vcpu.run = run;
	vcpu_exists = true;
	return fd;
}

static int set_region(const struct kvm_userspace_memory_region *r)
{
	const uint32_t flags_ok = KVM_MEM_LOG_DIRTY_PAGES;

	if (r->slot != 0 || (r->flags & ~flags_ok) || r->guest_phys_addr % 4096 ||
	    r->memory_size % 4096 || r->userspace_addr % 4096)
		return fake_kvm_reject("KVM_SET_USER_MEMORY_REGION", "slot %u flags 0x%x "
				       "gpa 0x%llx size 0x%llx", r->slot, r->flags,
				       (unsigned long long)r->guest_phys_addr,
				       (unsigned long long)r->memory_size);
	slot0 = *r;
	return 0;
}

static int vm_ioctl(unsigned long req, unsigned long arg)
{
	switch (req) {
	case KVM_CHECK_EXTENSION:
		return sys_ioctl(req, arg);
	case KVM_CREATE_VCPU:
		return create_vcpu(arg);
	case KVM_SET_USER_MEMORY_REGION:
		return set_region((const struct kvm_userspace_memory_region *)arg);
	case KVM_SET_TSS_ADDR: case KVM_SET_IDENTITY_MAP_ADDR:
		return 0;
	case KVM_ENABLE_CAP: {
		const struct kvm_enable_cap *c = (const struct kvm_enable_cap *)arg;

		if (c->cap == KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 &&
		    !(c->args[0] & ~(uint64_t)(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
					       KVM_DIRTY_LOG_INITIALLY_SET))) {
			manual_protect = c->args[0] != 0;
			return 0;
		}
		if (c->cap == KVM_CAP_EXCEPTION_PAYLOAD) {
			exception_payload = c->args[0] != 0;
			return 0;
		}
		errno = EINVAL;
		return -1;
	}
	case KVM_GET_DIRTY_LOG: {
		const struct kvm_dirty_log *d = (const struct kvm_dirty_log *)arg;

		/* Nothing runs guest code here, so nothing is ever dirty. */
		if (d->slot != 0 || !slot0.memory_size) {
			errno = ENOENT;
			return -1;
		}
		memset(d->dirty_bitmap, 0, (size_t)((slot0.memory_size / 4096 + 63) / 64 * 8));
		return 0;
	}
	case KVM_CLEAR_DIRTY_LOG:
		if (!manual_protect) {
			errno = EINVAL;
			return -1;
		}
		return 0;
	case KVM_GET_CLOCK:
		*(struct kvm_clock_data *)arg = clock_data;
		return 0;
	case KVM_SET_CLOCK: {
		const struct kvm_clock_data *c = (const struct kvm_clock_data *)arg;
		const uint32_t valid = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME |
				       KVM_CLOCK_HOST_TSC;

		if (c->flags & ~valid)
			return fake_kvm_reject("KVM_SET_CLOCK", "flags 0x%x", c->flags);
		clock_data.clock = c->clock;
		return 0;
	}
	default: {
		bool done;
		int rc = fake_irqchip_vm_ioctl(req, arg, vcpu_exists, &done);

		if (done)
			return rc;
		fprintf(stderr, "fake_kvm: VM ioctl 0x%lx is not emulated; add it to "
			"tests/fuzz/fake_kvm.c\n", req);
		abort();
	}
	}
}

bool fake_kvm_exception_payload(void)
{
	return exception_payload;
}

int ioctl(int fd, unsigned long req, ...)
{
	unsigned long arg;
	va_list ap;
	int rc;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	pthread_mutex_lock(&fake_lock);
	switch (kind_of(fd)) {
	case K_SYS:
		rc = sys_ioctl(req, arg);
		break;
	case K_VM:
		rc = vm_ioctl(req, arg);
		break;
	case K_VCPU:
		rc = fake_vcpu_ioctl(&vcpu, req, (void *)arg);
		break;
	default:
		rc = (int)syscall(SYS_ioctl, fd, req, arg);
		break;
	}
	pthread_mutex_unlock(&fake_lock);
	return rc;
}
