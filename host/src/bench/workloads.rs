//! The workloads, run the same way on every side: each returns its time per
//! operation. Loads check the number of messages they got back, so a side
//! that skips work fails instead of looking fast.

use std::time::{Duration, Instant};

use super::side::Side;
use super::{BenchOptions, Workload};
use crate::{Error, Message, Result, Role};

/// One turn: what the user said and what the assistant answered.
fn turn() -> [Message; 2] {
    [
        Message::from_text(Role::User, "A benchmark message of ordinary length: what the user asked, in these words."),
        Message::from_text(
            Role::Assistant,
            "An answer of ordinary length: what the assistant said back, more or less.",
        ),
    ]
}

fn expect_len(what: &str, got: usize, want: usize) -> Result<()> {
    if got == want {
        return Ok(());
    }
    Err(Error::Runtime(crate::RuntimeError::new(format!("bench: {what} returned {got} messages, not {want}"))))
}

fn per_op(total: Duration, ops: usize) -> f64 {
    total.as_secs_f64() * 1e6 / ops.max(1) as f64
}

/// The session names of the `append`/`load` workloads.
fn small_session(i: u32) -> String {
    format!("s{i}")
}

/// Runs every workload on `side`: microseconds per operation, in [`Workload`] order.
pub async fn run(side: &dyn Side, o: &BenchOptions, progress: &dyn Fn(&str)) -> Result<Vec<(Workload, f64)>> {
    let turn = turn();
    let mut out = Vec::new();

    progress("append");
    for i in 0..o.sessions {
        side.create(&small_session(i)).await?;
    }
    let mut spent = Duration::ZERO;
    for _ in 0..o.turns {
        for i in 0..o.sessions {
            let s = small_session(i);
            let start = Instant::now();
            side.append(&s, &turn).await?;
            spent += start.elapsed();
        }
    }
    out.push((Workload::Append, per_op(spent, (o.sessions * o.turns) as usize)));

    progress("load");
    let small_len = 2 * o.turns as usize;
    let mut spent = Duration::ZERO;
    for i in 0..o.sessions {
        let start = Instant::now();
        let got = side.load(&small_session(i), None).await?;
        spent += start.elapsed();
        expect_len("load", got.len(), small_len)?;
    }
    let load_us = per_op(spent, o.sessions as usize);
    out.push((Workload::Load, load_us));

    if o.long_turns > 0 {
        long(side, o, &turn, &mut out, progress).await?;
    }

    progress("scale_load: seeding");
    let filler: Vec<Message> = (0..o.scale_messages.div_ceil(2)).flat_map(|_| turn.clone()).collect();
    let filler = &filler[..o.scale_messages as usize];
    for i in 0..o.scale_sessions {
        let s = format!("other{i}");
        side.create(&s).await?;
        if !filler.is_empty() {
            side.append(&s, filler).await?;
        }
    }
    progress("scale_load");
    let mut spent = Duration::ZERO;
    for i in 0..o.sessions {
        let start = Instant::now();
        let got = side.load(&small_session(i), None).await?;
        spent += start.elapsed();
        expect_len("scale_load", got.len(), small_len)?;
    }
    out.push((Workload::ScaleLoad, per_op(spent, o.sessions as usize)));

    progress("lock_cycle");
    side.create("locks").await?;
    let start = Instant::now();
    for _ in 0..o.lock_cycles {
        side.lock_cycle("locks").await?;
    }
    out.push((Workload::LockCycle, per_op(start.elapsed(), o.lock_cycles as usize)));
    Ok(out)
}

/// `long_append`, `long_full_load` and `long_tail_load` on one session of
/// `long_turns` turns.
async fn long(
    side: &dyn Side,
    o: &BenchOptions,
    turn: &[Message; 2],
    out: &mut Vec<(Workload, f64)>,
    progress: &dyn Fn(&str),
) -> Result<()> {
    progress("long_append: seeding");
    side.create("long").await?;
    let seeded = o.long_turns.saturating_sub(o.long_timed);
    let chunk: Vec<Message> = (0..SEED_TURNS).flat_map(|_| turn.clone()).collect();
    let mut left = seeded;
    while left > 0 {
        let k = left.min(SEED_TURNS);
        side.append("long", &chunk[..2 * k as usize]).await?;
        left -= k;
    }
    progress("long_append");
    let start = Instant::now();
    for _ in 0..o.long_timed {
        side.append("long", turn).await?;
    }
    out.push((Workload::LongAppend, per_op(start.elapsed(), o.long_timed as usize)));

    progress("long_full_load");
    let long_len = 2 * (seeded + o.long_timed) as usize;
    let mut spent = Duration::ZERO;
    for _ in 0..o.long_loads {
        let start = Instant::now();
        let got = side.load("long", None).await?;
        spent += start.elapsed();
        expect_len("long_full_load", got.len(), long_len)?;
    }
    out.push((Workload::LongFullLoad, per_op(spent, o.long_loads as usize)));

    progress("long_tail_load");
    let mut spent = Duration::ZERO;
    for _ in 0..o.tail_loads {
        let start = Instant::now();
        let got = side.load("long", Some(o.tail)).await?;
        spent += start.elapsed();
        expect_len("long_tail_load", got.len(), (o.tail as usize).min(long_len))?;
    }
    out.push((Workload::LongTailLoad, per_op(spent, o.tail_loads as usize)));

    Ok(())
}

/// Turns per append while seeding the long session.
const SEED_TURNS: u32 = 100;
