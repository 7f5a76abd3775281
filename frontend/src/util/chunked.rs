//! A list whose clone is cheap however long it grows, for the event log and the
//! round-trip samples.
//!
//! Yew's reducer clones the state whenever an older handle still shares it, which
//! is after nearly every event. A plain `Vec` of 100,000 log entries would be
//! copied per event; here items live in shared chunks of [`CHUNK`], so a clone
//! copies one pointer per chunk and a change copies at most one chunk.

use std::rc::Rc;

/// Items per chunk.
pub const CHUNK: usize = 256;

/// An append-only list of shared chunks.
#[derive(Debug, Clone)]
pub struct Chunked<T> {
    chunks: Vec<Rc<Vec<T>>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Chunked<T> {
        Chunked { chunks: Vec::new(), len: 0 }
    }
}

impl<T: Clone> Chunked<T> {
    /// Adds an item at the end.
    pub fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => Rc::make_mut(last).push(item),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(item);
                self.chunks.push(Rc::new(chunk));
            }
        }
        self.len += 1;
    }

    /// The item at `index`, to change it (copying its chunk if it is shared).
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        if index >= self.len {
            return None;
        }
        Rc::make_mut(&mut self.chunks[index / CHUNK]).get_mut(index % CHUNK)
    }
}

impl<T> Chunked<T> {
    /// How many items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The item at `index`.
    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    /// The last item.
    pub fn last(&self) -> Option<&T> {
        self.chunks.last()?.last()
    }

    /// Every item in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        self.chunks.iter().flat_map(|chunk| chunk.iter())
    }

    /// The items from `start` on.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = &T> + '_ {
        let skip_chunks = start / CHUNK;
        self.chunks.iter().skip(skip_chunks).flat_map(|chunk| chunk.iter()).skip(start % CHUNK)
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    /// Whether both are the same list: true when every chunk is shared, which is
    /// how Yew's props comparison stays cheap for long logs.
    pub fn same_as(&self, other: &Chunked<T>) -> bool {
        self.len == other.len && self.chunks.iter().zip(&other.chunks).all(|(a, b)| Rc::ptr_eq(a, b))
    }
}

impl<T: PartialEq> PartialEq for Chunked<T> {
    fn eq(&self, other: &Chunked<T>) -> bool {
        self.len == other.len && self.chunks.iter().zip(&other.chunks).all(|(a, b)| Rc::ptr_eq(a, b) || a == b)
    }
}

impl<T: Clone> FromIterator<T> for Chunked<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Chunked<T> {
        let mut list = Chunked::default();
        for item in items {
            list.push(item);
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_items_in_order_across_chunks() {
        let list: Chunked<usize> = (0..CHUNK * 2 + 3).collect();
        assert_eq!(list.len(), CHUNK * 2 + 3);
        assert!(list.iter().copied().eq(0..CHUNK * 2 + 3));
        assert_eq!(list.get(CHUNK), Some(&CHUNK));
        assert_eq!(list.get(CHUNK * 3), None);
        assert_eq!(list.last(), Some(&(CHUNK * 2 + 2)));
        assert!(list.iter_from(CHUNK + 5).copied().eq(CHUNK + 5..CHUNK * 2 + 3));
        assert_eq!(list.iter_from(10_000).count(), 0);
    }

    #[test]
    fn clones_share_chunks_until_one_changes() {
        let mut list: Chunked<usize> = (0..CHUNK + 1).collect();
        let snapshot = list.clone();
        assert!(list.same_as(&snapshot));
        *list.get_mut(0).unwrap() = 99;
        assert_eq!(snapshot.get(0), Some(&0), "the clone is unaffected");
        assert_eq!(list.get(0), Some(&99));
        assert!(!list.same_as(&snapshot));
        assert_ne!(list, snapshot);
        assert!(list.get_mut(CHUNK + 1).is_none());
        list.clear();
        assert!(list.is_empty());
    }
}
