//! A bound on memory that many connections draw from together, so that the
//! worst case for the whole server is a number chosen in advance rather than
//! the per-connection worst case times the number of connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes shared by every connection of one kind, up to a limit.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    used: AtomicUsize,
    limit: usize,
}

impl MemoryBudget {
    pub(crate) fn new(limit: usize) -> MemoryBudget {
        MemoryBudget { used: AtomicUsize::new(0), limit }
    }

    /// Bytes held now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The most that may be held at once.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Takes `bytes` if they fit under the limit.
    fn try_take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// What one holder has taken from a [`MemoryBudget`]; given back on drop.
#[derive(Debug)]
pub(crate) struct Charge {
    budget: Arc<MemoryBudget>,
    held: usize,
}

impl Charge {
    pub(crate) fn new(budget: Arc<MemoryBudget>) -> Charge {
        Charge { budget, held: 0 }
    }

    /// Bytes held by this holder.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// Makes the holder's total `bytes`: taking more succeeds only if the
    /// budget has room; giving back always does.
    pub(crate) fn set(&mut self, bytes: usize) -> bool {
        if bytes > self.held {
            if !self.budget.try_take(bytes - self.held) {
                return false;
            }
        } else {
            self.budget.give_back(self.held - bytes);
        }
        self.held = bytes;
        true
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.give_back(self.held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_share_the_limit_and_give_back_on_drop() {
        let budget = Arc::new(MemoryBudget::new(100));
        let mut first = Charge::new(Arc::clone(&budget));
        let mut second = Charge::new(Arc::clone(&budget));
        assert!(first.set(60));
        assert!(!second.set(41), "over the shared limit");
        assert_eq!(second.held(), 0);
        assert!(second.set(40));
        assert!(first.set(10));
        assert_eq!(budget.used(), 50);
        drop(second);
        assert_eq!(budget.used(), 10);
        drop(first);
        assert_eq!(budget.used(), 0);
    }
}
