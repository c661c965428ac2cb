//! Group commit: writes queued by concurrent callers are inserted together,
//! many rows in one statement and so one transaction, and each caller is
//! answered once the commit that holds its record has returned.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aistamp_core::StoreError;
use deadpool_postgres::Pool;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::{classify, classify_pool};
use crate::row::EncodedRow;

const SLOW_BATCH: Duration = Duration::from_secs(1);

/// The whole batch in one statement: one array parameter per column,
/// unnested into rows. A content id that is already stored (or that an
/// earlier row of the same batch holds) inserts nothing and is missing from
/// the returned ids, so that a duplicate fails only its own writer.
const INSERT_SQL: &str = "INSERT INTO provenance_records (content_id, app_id, feature_id, \
     user_id, model, prompt_hash, response_hash, hmac_signature, prompt_tokens, \
     response_tokens, latency_ms, timestamp, status, pii_result, policy_decision) \
     SELECT c, a, f, u, m, ph, rh, s, pt, rt, l, t, st, p::json, d::json \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
     $7::text[], $8::text[], $9::int4[], $10::int4[], $11::float8[], $12::timestamp[], \
     $13::text[], $14::text[], $15::text[]) \
     AS v(c, a, f, u, m, ph, rh, s, pt, rt, l, t, st, p, d) \
     ON CONFLICT (content_id) DO NOTHING \
     RETURNING content_id";

/// A record waiting for its commit.
#[derive(Debug)]
pub(crate) struct PendingWrite {
    pub(crate) row: EncodedRow,
    pub(crate) done: oneshot::Sender<Result<(), StoreError>>,
}

/// Starts `connections` flushing tasks on the current runtime and returns
/// the queue they serve. They stop when the queue's last sender is dropped.
pub(crate) fn spawn(
    pool: Pool,
    connections: usize,
    max_batch: usize,
) -> mpsc::UnboundedSender<PendingWrite> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..connections.max(1) {
        tokio::spawn(flush_loop(pool.clone(), Arc::clone(&receiver), max_batch.max(1)));
    }
    sender
}

async fn flush_loop(
    pool: Pool,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<PendingWrite>>>,
    max_batch: usize,
) {
    let mut batch = Vec::with_capacity(max_batch);
    loop {
        // One task at a time takes everything queued (up to the limit);
        // the others wait for the next turn while this batch commits.
        let received = receiver.lock().await.recv_many(&mut batch, max_batch).await;
        if received == 0 {
            return;
        }
        flush(&pool, std::mem::take(&mut batch)).await;
    }
}

async fn flush(pool: &Pool, batch: Vec<PendingWrite>) {
    let started = Instant::now();
    let count = batch.len();
    let client = match pool.get().await {
        Ok(client) => client,
        Err(err) => {
            let err = classify_pool(err);
            for pending in batch {
                let _ = pending.done.send(Err(same_error(&err)));
            }
            return;
        }
    };

    let outcome = insert(&client, &batch).await;
    match outcome {
        Ok(inserted) => answer(batch, inserted),
        Err(err) => {
            let err = classify(&err);
            if count == 1 || matches!(err, StoreError::Unavailable { .. }) {
                for pending in batch {
                    let _ = pending.done.send(Err(same_error(&err)));
                }
            } else {
                // Something in the batch was refused: insert one by one so
                // that only the record at fault fails.
                tracing::debug!(records = count, error = %err, "batch refused, retrying row by row");
                for pending in batch {
                    let result = insert(&client, std::slice::from_ref(&pending)).await;
                    match result {
                        Ok(inserted) => answer(vec![pending], inserted),
                        Err(err) => {
                            let _ = pending.done.send(Err(classify(&err)));
                        }
                    }
                }
            }
        }
    }

    let elapsed = started.elapsed();
    if elapsed > SLOW_BATCH {
        tracing::warn!(records = count, ?elapsed, "slow store write");
    } else {
        tracing::trace!(records = count, ?elapsed, "batch committed");
    }
}

/// Answers every writer of a committed batch: the first row with each
/// returned content id was stored, every other row is a duplicate.
fn answer(batch: Vec<PendingWrite>, inserted: Vec<String>) {
    let mut stored: HashMap<String, usize> = HashMap::with_capacity(inserted.len());
    for id in inserted {
        *stored.entry(id).or_default() += 1;
    }
    for pending in batch {
        let result = match stored.get_mut(&pending.row.content_id) {
            Some(left) if *left > 0 => {
                *left -= 1;
                Ok(())
            }
            _ => Err(StoreError::DuplicateContentId { content_id: pending.row.content_id }),
        };
        let _ = pending.done.send(result);
    }
}

async fn insert(
    client: &deadpool_postgres::Client,
    batch: &[PendingWrite],
) -> Result<Vec<String>, tokio_postgres::Error> {
    let rows = batch.iter().map(|pending| &pending.row);
    let content_id: Vec<&str> = rows.clone().map(|r| r.content_id.as_str()).collect();
    let app_id: Vec<&str> = rows.clone().map(|r| r.app_id.as_str()).collect();
    let feature_id: Vec<&str> = rows.clone().map(|r| r.feature_id.as_str()).collect();
    let user_id: Vec<&str> = rows.clone().map(|r| r.user_id.as_str()).collect();
    let model: Vec<&str> = rows.clone().map(|r| r.model.as_str()).collect();
    let prompt_hash: Vec<&str> = rows.clone().map(|r| r.prompt_hash.as_str()).collect();
    let response_hash: Vec<Option<&str>> =
        rows.clone().map(|r| r.response_hash.as_deref()).collect();
    let signature: Vec<&str> = rows.clone().map(|r| r.signature.as_str()).collect();
    let prompt_tokens: Vec<Option<i32>> = rows.clone().map(|r| r.prompt_tokens).collect();
    let response_tokens: Vec<Option<i32>> = rows.clone().map(|r| r.response_tokens).collect();
    let latency_ms: Vec<Option<f64>> = rows.clone().map(|r| r.latency_ms).collect();
    let timestamp: Vec<std::time::SystemTime> = rows.clone().map(|r| r.timestamp).collect();
    let status: Vec<&str> = rows.clone().map(|r| r.status).collect();
    let pii_result: Vec<Option<&str>> = rows.clone().map(|r| r.pii_result.as_deref()).collect();
    let policy_decision: Vec<Option<&str>> = rows.map(|r| r.policy_decision.as_deref()).collect();

    let statement = client.prepare_cached(INSERT_SQL).await?;
    let returned = client
        .query(
            &statement,
            &[
                &content_id,
                &app_id,
                &feature_id,
                &user_id,
                &model,
                &prompt_hash,
                &response_hash,
                &signature,
                &prompt_tokens,
                &response_tokens,
                &latency_ms,
                &timestamp,
                &status,
                &pii_result,
                &policy_decision,
            ],
        )
        .await?;
    returned.iter().map(|row| row.try_get::<_, String>(0)).collect()
}

/// A copy of `err` for each writer of a failed batch.
pub(crate) fn same_error(err: &StoreError) -> StoreError {
    match err {
        StoreError::Unavailable { message } => StoreError::Unavailable { message: message.clone() },
        StoreError::DiskFull { message } => StoreError::DiskFull { message: message.clone() },
        StoreError::SchemaMissing { message } => {
            StoreError::SchemaMissing { message: message.clone() }
        }
        StoreError::InvalidQuery { message } => {
            StoreError::InvalidQuery { message: message.clone() }
        }
        StoreError::DuplicateContentId { content_id } => {
            StoreError::DuplicateContentId { content_id: content_id.clone() }
        }
        StoreError::InvalidRow { content_id, reason } => {
            StoreError::InvalidRow { content_id: content_id.clone(), reason: reason.clone() }
        }
        StoreError::InvalidUrl { url, reason } => {
            StoreError::InvalidUrl { url: url.clone(), reason: reason.clone() }
        }
        StoreError::Backend { message } => StoreError::Backend { message: message.clone() },
        other => StoreError::Backend { message: other.to_string() },
    }
}
