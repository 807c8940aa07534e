//! The pool's counts of its resources, changed only through the named steps below: the
//! one place that says what `size` counts. `size` is every resource that exists — idle,
//! lent, handed to a waiter, being created, validated, reset or closed — so `max_size`
//! bounds them all; the others say where the ones that are not idle or lent are.

#[derive(Debug, Default)]
pub(super) struct Counts {
    size: usize,
    /// Creates under way (their slots count in `size`).
    creating: usize,
    /// Validations and resets under way.
    checking: usize,
    /// Of those, the validations: each serves a waiter (a waiter whose resource is being
    /// checked is being served, not waiting for supply).
    validating: usize,
    /// Resources handed to a waiter that has not picked its up yet (a lease's resource
    /// counts in its shard's `in_use`).
    handed: usize,
    /// Retired resources being closed.
    closing: usize,
}

impl Counts {
    pub(super) fn size(&self) -> usize {
        self.size
    }

    pub(super) fn creating(&self) -> usize {
        self.creating
    }

    pub(super) fn checking(&self) -> usize {
        self.checking
    }

    /// Validations under way, each for a waiter.
    pub(super) fn validating(&self) -> usize {
        self.validating
    }

    pub(super) fn closing(&self) -> usize {
        self.closing
    }

    pub(super) fn handed(&self) -> usize {
        self.handed
    }

    /// The resources in the shards (lent, or cached there), given how many the idle set
    /// holds: all that are not being created, checked or closed, handed over or idle.
    pub(super) fn in_shards(&self, idle: usize) -> usize {
        self.size
            .saturating_sub(self.creating + self.checking + self.handed + self.closing + idle)
    }

    /// The resources that count against `max_size` once a shrink is done: all but those
    /// being closed.
    pub(super) fn kept(&self) -> usize {
        self.size - self.closing
    }

    /// A create starts: its slot counts from now on.
    pub(super) fn start_create(&mut self) {
        self.size += 1;
        self.creating += 1;
    }

    /// A create ended: with a resource (`made`), or its slot freed.
    pub(super) fn create_ended(&mut self, made: bool) {
        self.creating -= 1;
        if !made {
            self.size -= 1;
        }
    }

    /// A validation (`validate`) or reset starts.
    pub(super) fn start_check(&mut self, validate: bool) {
        self.checking += 1;
        self.validating += usize::from(validate);
    }

    /// A validation (`validate`) or reset ended: with its resource, or (abandoned past its
    /// bound) its slot freed.
    pub(super) fn check_ended(&mut self, validate: bool, kept: bool) {
        self.checking -= 1;
        self.validating -= usize::from(validate);
        if !kept {
            self.size -= 1;
        }
    }

    /// A resource is handed to a waiter.
    pub(super) fn hand_over(&mut self) {
        self.handed += 1;
    }

    /// A handed-over resource is taken: lent to its waiter, or handed on by a waiter that
    /// left.
    pub(super) fn take_handed(&mut self) {
        self.handed -= 1;
    }

    /// A retired resource's close starts.
    pub(super) fn start_close(&mut self) {
        self.closing += 1;
    }

    /// A retired resource's close ended: its slot is free.
    pub(super) fn close_ended(&mut self) {
        self.closing -= 1;
        self.size -= 1;
    }

    /// A lent resource leaves the pool for good (detached): its slot is free.
    pub(super) fn forget(&mut self) {
        self.size -= 1;
    }
}
