/* codel.h - CoDel (RFC 8289): when a queue's frames have waited longer than
 * a target for a whole interval, drop at the head, at a rate that rises with
 * the square root of the drops, until the wait falls below the target.
 *
 * Theory of operation
 * -------------------
 * The gateway's workers read the kernel's receive rings; a ring that fills
 * faster than a worker drains it is a standing queue: under a TCP load the
 * round trip through the gateway grew by 4 to 9 ms (issue 12). Every frame
 * carries the time it was put in the ring (afpacket: the kernel's receive
 * timestamp; afxdp: the XDP program's), so when a worker takes a frame it
 * knows the frame's sojourn, and CoDel's dequeue decision applies as RFC
 * 8289 section 5 states it, one frame at a time:
 *
 *   - ok_to_drop (the RFC's dodequeue()): the sojourn has been at or above
 *     the target, with more than one frame waiting, for a whole interval;
 *     a sojourn below the target, or a queue that is about to run empty,
 *     resets that clock (first_above = 0);
 *   - in the drop state, a frame that is not ok_to_drop ends it; one that is
 *     is dropped when now >= drop_next, and after a drop the next drop is
 *     scheduled at drop_next + interval / sqrt(count) ("control law");
 *   - entering the drop state drops the frame, delivers the next one
 *     unconditionally, and starts count from the drops of the last drop
 *     state if that one ended less than 16 intervals ago (the RFC's
 *     "delta"), else from 1;
 *   - a queue found empty ends the drop state (codel_empty()).
 *
 * The RFC's pseudo-code dequeues in a loop inside one call; here the loop's
 * state is carried between calls (after_drop, entered), so that the same
 * frames get the same verdicts when the caller asks frame by frame.
 *
 * A pure function of the sojourn times and the clock the caller gives: no
 * clock is read here. Times are nanoseconds of one clock. One instance per
 * queue, one thread: no locks, no allocation.
 */
#ifndef RSSNAT_CODEL_H
#define RSSNAT_CODEL_H

#include <stdbool.h>
#include <stdint.h>

struct codel {
	uint64_t target, interval; /* ns; target 0: never drops */
	uint64_t first_above;	   /* when the sojourn will have been above target
				    * for an interval; 0: it is not above */
	uint64_t drop_next;	   /* the next drop in the drop state */
	uint32_t count, lastcount; /* drops in this drop state, and the last's */
	bool dropping;		   /* in the drop state */
	bool after_drop;	   /* the previous frame was dropped in it */
	bool entered;		   /* the drop state began with the previous frame */
};

/* codel_init() - RFC 8289 recommends target 5 ms and interval 100 ms for
 * the Internet; the caller chooses (see io.h for the gateway's). */
void codel_init(struct codel *c, uint64_t target_ns, uint64_t interval_ns);

/* codel_drop() - the verdict for the frame at the head of the queue, taken
 * at @now after waiting @sojourn; @last: no more than this frame was
 * waiting (the RFC's bytes() <= maxpacket). True: drop it. */
bool codel_drop(struct codel *c, uint64_t now, uint64_t sojourn, bool last);

/* codel_empty() - the caller found the queue empty. */
void codel_empty(struct codel *c);

#endif
