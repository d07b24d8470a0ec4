//! Knowledge-distortion attacks that need more than a template: the fake correction puts a refusal
//! in the assistant's mouth and then "corrects" it with an invented fact.

use crate::text::{Ctx, insert_before_payload, payload, set_payload};
use crate::{AttackError, PreparedAttack};
use aistr_core::Message;

/// `distortion.fake_correction`: request, a fake refusal, then a correction built on a false fact.
pub(crate) fn fake_correction(p: &mut PreparedAttack, ctx: &mut Ctx<'_>) -> Result<(), AttackError> {
    let request = payload(p, ctx.probe);
    let refusal = ctx.pick("refusal")?;
    let correction = ctx.wrap(&request, &[])?;
    insert_before_payload(
        p,
        ctx.probe,
        vec![Message::user(request), Message::assistant(refusal)],
    );
    set_payload(p, ctx.probe, correction);
    Ok(())
}
