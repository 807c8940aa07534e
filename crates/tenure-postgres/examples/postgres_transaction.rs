//! The seed's `database_transaction`, on PostgreSQL: two inserts commit together; when the
//! body fails after the first, both are rolled back — shown by reading back.
//!
//! Runs against `TENURE_PG_URL` when set, else against a throwaway cluster of its own.
//!
//! ```text
//! cargo run --all-features --example postgres_transaction
//! ```

use tenure::pool::Pool;
use tenure::tx::transaction_async;
use tenure_postgres::{testing, Manager};

#[derive(Debug, thiserror::Error)]
enum TransferError {
    #[error("not enough money on account {0}")]
    Insufficient(i32),
    #[error(transparent)]
    Db(#[from] tenure_postgres::Error),
}

async fn balances(client: &tenure_postgres::Client) -> Result<Vec<i64>, tenure_postgres::Error> {
    let rows = client
        .query("SELECT balance FROM accounts ORDER BY id", &[])
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(db) = testing::database() else {
        return Ok(()); // the fixture said why: no server here
    };
    let pool = Pool::builder(Manager::new(db.config())).build()?;
    let mut client = pool.get().await?;
    client
        .batch_execute(
            "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
             INSERT INTO accounts VALUES (1, 100), (2, 0)",
        )
        .await?;

    // Success: both updates commit.
    transaction_async(&mut *client, async |tx| {
        tx.execute(
            "UPDATE accounts SET balance = balance - 30 WHERE id = 1",
            &[],
        )
        .await?;
        tx.execute(
            "UPDATE accounts SET balance = balance + 30 WHERE id = 2",
            &[],
        )
        .await?;
        Ok::<_, TransferError>(())
    })
    .await?;
    println!("after the first transfer: {:?}", balances(&client).await?);
    assert_eq!(balances(&client).await?, [70, 30]);

    // Failure after the first update: both are rolled back.
    let failed = transaction_async(&mut *client, async |tx| {
        tx.execute(
            "UPDATE accounts SET balance = balance + 500 WHERE id = 2",
            &[],
        )
        .await?;
        let left: i64 = tx
            .query_one("SELECT balance FROM accounts WHERE id = 1", &[])
            .await?
            .get(0);
        if left < 500 {
            return Err(TransferError::Insufficient(1));
        }
        Ok(())
    })
    .await;
    println!("the second transfer failed: {}", failed.unwrap_err());
    println!("after the rollback: {:?}", balances(&client).await?);
    assert_eq!(balances(&client).await?, [70, 30]);
    Ok(())
}
