/* Host side: the jail's init image.  The static sbx-init program is built
 * with the project and embedded in the host binary and in the Lua module
 * (build/core/init_image.S); each spawning context copies it once into a
 * memfd and seals it, so init runs from a file nobody can change: inside a
 * jail /proc/self/exe (of init, or of a "#!/proc/self/exe" script) is that
 * sealed copy, never a host binary (CVE-2019-5736). */
#include "jail.h"
#include "util.h"
#include <fcntl.h>
#include <sys/mman.h>

extern const unsigned char sbx_init_image[], sbx_init_image_end[];

int sbx_image_open(struct sbx_err *e)
{
	size_t n = (size_t)(sbx_init_image_end - sbx_init_image);
	cleanup_fd int fd = memfd_create(SBX_INIT_NAME, MFD_CLOEXEC |
							MFD_ALLOW_SEALING);
	if (fd < 0 || sbx_write_all(fd, sbx_init_image, n) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
					   F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		sbx_err_set(e, errno, "spawn", "copy sbx-init into a sealed memfd");
		return -1;
	}
	/* fds 3 and 4 of the child are taken: keep ours above them */
	if (fd < SBX_INIT_IMAGE + 1) {
		int hi = fcntl(fd, F_DUPFD_CLOEXEC, SBX_INIT_IMAGE + 1);
		if (hi < 0) {
			sbx_err_set(e, errno, "spawn", "move the init image fd");
			return -1;
		}
		return hi; /* the low one is closed by cleanup */
	}
	return sbx_steal_fd(&fd);
}
