package celltest

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// listenBacklog is the backlog of a fake process's listeners.
const listenBacklog = 128

// reservedPort is a loopback TCP socket that is bound but not listening:
// the port belongs to the container while connections to it are refused,
// as they are for a real container whose app does not listen yet.
type reservedPort struct {
	fd   int
	port uint16
}

// reservePort binds a socket to 127.0.0.1 on a free port.
func reservePort() (*reservedPort, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("setsockopt: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("bind: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		syscall.Close(fd)
		return nil, fmt.Errorf("getsockname: unexpected address %T", sa)
	}
	return &reservedPort{fd: fd, port: uint16(in4.Port)}, nil
}

// listen starts listening on the reserved port and hands the socket to a
// net.Listener; the reservation is used up.
func (r *reservedPort) listen() (net.Listener, error) {
	if r.fd < 0 {
		return nil, fmt.Errorf("port %d: reservation already used", r.port)
	}
	fd := r.fd
	r.fd = -1
	if err := syscall.Listen(fd, listenBacklog); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("listen: %w", err)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("fake-port-%d", r.port))
	defer f.Close() // FileListener holds its own duplicate
	return net.FileListener(f)
}

// close releases the port if it was not used.
func (r *reservedPort) close() {
	if r.fd >= 0 {
		syscall.Close(r.fd)
		r.fd = -1
	}
}
