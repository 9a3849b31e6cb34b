/*
 * notify_rx — plays systemd's end of the notification protocol for the
 * integration tests (node has no AF_UNIX datagram sockets in its core).
 *
 *   notify_rx PATH
 *
 * Binds an AF_UNIX datagram socket at PATH (removing a stale one first),
 * prints "bound PATH", then prints each datagram it receives as one line
 * on standard output: a newline inside the datagram becomes the two
 * characters "\n", a backslash "\\", any other byte outside printable
 * ASCII "\xHH". Output is flushed after every line. Runs until killed
 * (SIGTERM), or its parent (the test) goes, then removes PATH.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sigaction act;
	char buf[65536];
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof sa.sun_path) {
		fprintf(stderr, "usage: notify_rx PATH (under %zu bytes)\n",
		    sizeof sa.sun_path);
		return 2;
	}
	/* No SA_RESTART: recv returns EINTR and the loop ends. */
	memset(&act, 0, sizeof act);
	act.sa_handler = on_term;
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	/* A test runner killed by its timeout must not leave us behind. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		return 1;

	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		fprintf(stderr, "notify_rx: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("bound %s\n", argv[1]);
	fflush(stdout);
	while (!stop) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "notify_rx: recv: %s\n", strerror(errno));
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)buf[i];

			if (c == '\n')
				fputs("\\n", stdout);
			else if (c == '\\')
				fputs("\\\\", stdout);
			else if (c < 0x20 || c > 0x7e)
				printf("\\x%02x", c);
			else
				putchar(c);
		}
		putchar('\n');
		fflush(stdout);
	}
	close(fd);
	unlink(argv[1]);
	return 0;
}
