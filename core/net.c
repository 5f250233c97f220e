/* Child side: a new network namespace starts with lo down; bring it up. */
#include "jail.h"
#include "util.h"
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

int sbx_net_loopback_up(struct sbx_err *e)
{
	cleanup_fd int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;

	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		sbx_err_set(e, errno, "network", "get flags of lo");
		return -1;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		sbx_err_set(e, errno, "network", "bring lo up");
		return -1;
	}
	return 0;
}
