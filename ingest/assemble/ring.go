package assemble

// ring is a FIFO queue in a circular buffer: pushes and pops allocate nothing once it has grown
// to its working size, and shrink gives the memory of a burst back.
type ring[T any] struct {
	buf        []T
	head, size int
}

func (q *ring[T]) len() int { return q.size }

func (q *ring[T]) push(v T) {
	if q.size == len(q.buf) {
		q.resize(max(64, 2*len(q.buf)))
	}
	q.buf[(q.head+q.size)%len(q.buf)] = v
	q.size++
}

// peek returns the oldest element; the queue must not be empty.
func (q *ring[T]) peek() T { return q.buf[q.head] }

// pop removes and returns the oldest element; the queue must not be empty.
func (q *ring[T]) pop() T {
	v := q.buf[q.head]
	var zero T
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return v
}

// shrink halves the buffer while it is at most an eighth full and larger than 1024.
func (q *ring[T]) shrink() {
	for n := len(q.buf); n > 1024 && q.size <= n/8; n /= 2 {
		q.resize(n / 2)
	}
}

func (q *ring[T]) resize(n int) {
	buf := make([]T, n)
	for i := 0; i < q.size; i++ {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}
