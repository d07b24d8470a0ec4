//! Interference-in-talking attacks: forced consent (including a fake earlier dialogue in which the
//! assistant already agreed), distractor tasks around the request, and long-text overflow with random
//! characters or irrelevant prose. The request always stays in the last user message.

use crate::text::{Ctx, Lang, insert_before_payload, payload, set_payload};
use crate::{AttackError, PreparedAttack};
use aistr_core::Message;

/// `interference.forced_consent`: either a "start with 'Sure, here is'" instruction, or (half the
/// seeds) a fake dialogue in which the assistant already promised to comply.
pub(crate) fn forced_consent(p: &mut PreparedAttack, ctx: &mut Ctx<'_>) -> Result<(), AttackError> {
    let request = payload(p, ctx.probe);
    if ctx.rng.chance(1, 2) {
        let out = ctx.wrap(&request, &[])?;
        set_payload(p, ctx.probe, out);
    } else {
        let setup = ctx.pick("setup")?;
        let agree = ctx.pick("agree")?;
        let reminder = crate::text::render(ctx.pick("reminder")?, &[("payload", &request)]);
        insert_before_payload(
            p,
            ctx.probe,
            vec![Message::user(setup), Message::assistant(agree)],
        );
        set_payload(p, ctx.probe, reminder);
    }
    Ok(())
}

/// `interference.distractor`: the request numbered among 2–4 harmless tasks, at a seeded position.
pub(crate) fn distractor(p: &mut PreparedAttack, ctx: &mut Ctx<'_>) -> Result<(), AttackError> {
    let request = payload(p, ctx.probe);
    let pool = ctx.all("tasks")?;
    let mut order: Vec<usize> = (0..pool.len()).collect();
    ctx.rng.shuffle(&mut order);
    let k = ctx.rng.between(2, 4).min(pool.len());
    let mut items: Vec<&str> = order[..k].iter().map(|&i| pool[i].as_str()).collect();
    let at = ctx.rng.between(0, k);
    items.insert(at, &request);
    let tasks: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{}. {t}", i + 1))
        .collect();
    let out = ctx.wrap(&request, &[("tasks", &tasks.join("\n"))])?;
    set_payload(p, ctx.probe, out);
    Ok(())
}

/// Seeded noise: printable ASCII, mixed with common CJK ideographs for Chinese probes.
fn noise(ctx: &mut Ctx<'_>, len: usize) -> String {
    (0..len)
        .map(|_| {
            if ctx.lang == Lang::Zh && ctx.rng.chance(1, 2) {
                char::from_u32(0x4E00 + ctx.rng.below(0x51A6) as u32).unwrap_or('的')
            } else {
                char::from(b' ' + ctx.rng.below(95) as u8)
            }
        })
        .collect()
}

/// Shortest noise on each side, in characters.
pub(crate) const NOISE_MIN: usize = 50;
/// Longest noise on each side, in characters.
pub(crate) const NOISE_MAX: usize = 300;

/// `interference.overflow_random`: 50–300 random characters before and after the request.
pub(crate) fn overflow_random(p: &mut PreparedAttack, ctx: &mut Ctx<'_>) -> Result<(), AttackError> {
    let request = payload(p, ctx.probe);
    let before_len = ctx.rng.between(NOISE_MIN, NOISE_MAX);
    let after_len = ctx.rng.between(NOISE_MIN, NOISE_MAX);
    let before = noise(ctx, before_len);
    let after = noise(ctx, after_len);
    set_payload(p, ctx.probe, format!("{before}\n\n{request}\n\n{after}"));
    Ok(())
}

/// Characters of filler wanted before the request (Chinese is denser, so it needs fewer).
fn filler_target(lang: Lang) -> usize {
    match lang {
        Lang::En => 2000,
        Lang::Zh => 700,
    }
}

/// `interference.overflow_text`: long irrelevant prose before the request and some after it.
pub(crate) fn overflow_text(p: &mut PreparedAttack, ctx: &mut Ctx<'_>) -> Result<(), AttackError> {
    let request = payload(p, ctx.probe);
    let pool = ctx.all("filler")?;
    let mut order: Vec<usize> = (0..pool.len()).collect();
    ctx.rng.shuffle(&mut order);
    let mut before: Vec<&str> = Vec::new();
    let mut used = 0;
    let mut rest = order.into_iter();
    for i in rest.by_ref() {
        before.push(&pool[i]);
        used += pool[i].chars().count();
        if used >= filler_target(ctx.lang) {
            break;
        }
    }
    let after_count = ctx.rng.between(1, 2);
    let after: Vec<&str> = rest.take(after_count).map(|i| pool[i].as_str()).collect();
    let out = ctx.wrap(
        &request,
        &[("before", &before.join("\n\n")), ("after", &after.join("\n\n"))],
    )?;
    set_payload(p, ctx.probe, out.trim_end().to_string());
    Ok(())
}
