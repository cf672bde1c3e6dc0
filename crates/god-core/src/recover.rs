//! Start-up recovery's decision: what to do with a job the database says is running, given what
//! the executor has of it. Pure: the server gathers the pairs, this decides, the server acts.
//!
//! The dispatch order (mark running with the container's name → create and start the container
//! → record its id) means a crash leaves one of these pairs, each with one safe answer: nothing
//! runs twice, nothing is lost.

/// What the executor has under the job's container name or recorded id (`C`: the container).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found<C> {
    /// Created, never started: the crash came between create and start.
    Created(C),
    /// Running, paused, or already stopped with a result the watcher will collect.
    Container(C),
    /// Nothing.
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<C> {
    /// Remove the container that never started and put the job back in the queue.
    RemoveAndRequeue(C),
    /// Watch it again (recording its id when the crash came before that).
    Reattach { container: C, record_id: bool },
    /// The crash came before the container was created: it never ran. Back to the queue.
    Requeue,
    /// A container was recorded and is gone: a node failure (retried per `failure_policy`).
    Lost,
}

/// `id_recorded`: the job has a container id in the database.
pub fn decide<C>(id_recorded: bool, found: Found<C>) -> Action<C> {
    match (found, id_recorded) {
        (Found::Created(c), false) => Action::RemoveAndRequeue(c),
        // Its start was recorded, so it ran: watch it; the watcher collects what it becomes.
        (Found::Created(c) | Found::Container(c), true) => Action::Reattach {
            container: c,
            record_id: false,
        },
        (Found::Container(c), false) => Action::Reattach {
            container: c,
            record_id: true,
        },
        (Found::Nothing, false) => Action::Requeue,
        (Found::Nothing, true) => Action::Lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_has_one_answer() {
        let reattach = |record_id| Action::Reattach {
            container: "c",
            record_id,
        };
        let cases = [
            (false, Found::Created("c"), Action::RemoveAndRequeue("c")),
            (true, Found::Created("c"), reattach(false)),
            (false, Found::Container("c"), reattach(true)),
            (true, Found::Container("c"), reattach(false)),
            (false, Found::Nothing, Action::Requeue),
            (true, Found::Nothing, Action::Lost),
        ];
        for (recorded, found, want) in cases {
            assert_eq!(
                decide(recorded, found),
                want,
                "recorded {recorded}, {found:?}"
            );
        }
    }
}
