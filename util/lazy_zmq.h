/*
 * libzmq, opened when the first Jupyter kernel starts rather than by the
 * dynamic loader at every start: with libstdc++ and its other
 * dependencies it was a quarter of the start of mdrun.
 */
#ifndef MD_LAZY_ZMQ_H
#define MD_LAZY_ZMQ_H

#include <zmq.h>

#define MD_ZMQ_FNS(X) \
	X(zmq_close) \
	X(zmq_connect) \
	X(zmq_ctx_new) \
	X(zmq_ctx_term) \
	X(zmq_errno) \
	X(zmq_msg_close) \
	X(zmq_msg_data) \
	X(zmq_msg_init) \
	X(zmq_msg_more) \
	X(zmq_msg_recv) \
	X(zmq_msg_size) \
	X(zmq_poll) \
	X(zmq_send) \
	X(zmq_setsockopt) \
	X(zmq_socket) \
	X(zmq_socket_monitor) \
	X(zmq_strerror)

/* A pointer to each function, filled by md_zmq_load. */
struct md_zmq {
#define MD_LAZY_PTR(f) __typeof__(f) *f;
	MD_ZMQ_FNS(MD_LAZY_PTR)
#undef MD_LAZY_PTR
};
extern struct md_zmq md_zmq;

/*
 * Loads libzmq (MD_ZMQ_SONAME) once, for every thread: 0, or
 * MD_ERROR with a message saying what is missing.
 */
int md_zmq_load(void);

/* Callers name the functions as the library's headers do. */
#ifndef MD_ZMQ_LOADER
#define zmq_close md_zmq.zmq_close
#define zmq_connect md_zmq.zmq_connect
#define zmq_ctx_new md_zmq.zmq_ctx_new
#define zmq_ctx_term md_zmq.zmq_ctx_term
#define zmq_errno md_zmq.zmq_errno
#define zmq_msg_close md_zmq.zmq_msg_close
#define zmq_msg_data md_zmq.zmq_msg_data
#define zmq_msg_init md_zmq.zmq_msg_init
#define zmq_msg_more md_zmq.zmq_msg_more
#define zmq_msg_recv md_zmq.zmq_msg_recv
#define zmq_msg_size md_zmq.zmq_msg_size
#define zmq_poll md_zmq.zmq_poll
#define zmq_send md_zmq.zmq_send
#define zmq_setsockopt md_zmq.zmq_setsockopt
#define zmq_socket md_zmq.zmq_socket
#define zmq_socket_monitor md_zmq.zmq_socket_monitor
#define zmq_strerror md_zmq.zmq_strerror
#endif

#endif
