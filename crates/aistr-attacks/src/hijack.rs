//! Instruction-hijacking attacks that need more than a template: prompt leaking plants a canary in
//! the system prompt, so that its appearance in an answer proves the system prompt leaked whatever the
//! risky-content judge thinks of the rest of the answer.

use crate::text::{Ctx, payload, render, set_payload};
use crate::{AttackError, PreparedAttack};
use aistr_core::{Message, Role};

/// A canary that is unlikely to appear by chance, derived from the attack's seeded stream.
fn canary(ctx: &mut Ctx<'_>) -> String {
    format!("ZX-{:08X}", ctx.rng.next_u64() & 0xFFFF_FFFF)
}

/// `hijack.prompt_leak`: plant the canary (in a new system prompt, or appended to the existing one)
/// and ask for the system prompt before the request.
pub(crate) fn prompt_leak(p: &mut PreparedAttack, ctx: &mut Ctx<'_>) -> Result<(), AttackError> {
    let canary = match &p.canary {
        Some(c) => c.clone(),
        None => canary(ctx),
    };
    if let Some(sys) = p.messages.iter_mut().find(|m| m.role == Role::System) {
        if !sys.content.contains(&canary) {
            let line = render(ctx.pick("canary_line")?, &[("canary", &canary)]);
            sys.content = format!("{}\n\n{line}", sys.content.trim_end());
        }
    } else {
        let system = render(ctx.pick("system")?, &[("canary", &canary)]);
        p.messages.insert(0, Message::system(system));
    }
    let request = payload(p, ctx.probe);
    let wrapped = ctx.wrap(&request, &[])?;
    set_payload(p, ctx.probe, wrapped);
    p.canary = Some(canary);
    Ok(())
}
