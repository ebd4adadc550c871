//! The ledger's events: one `Transfer` or `Approval` log per move, whichever VM made it, so the
//! ERC-20 views (and any indexer) see every change of a balance. Source = the mint, topics = the
//! event's SHA-256 name and the two identities (zero for a mint or a burn), data = the amount as
//! a big-endian u128.

use nvm_primitives::{IdCom, Log, Mint, sha256};

/// Topic of the log every ledger move emits: `SHA-256("Transfer(from,to,amount)")`.
pub fn transfer_topic() -> [u8; 32] {
    sha256(b"Transfer(from,to,amount)")
}

/// Topic of the log an allowance change emits.
pub fn approval_topic() -> [u8; 32] {
    sha256(b"Approval(owner,spender,amount)")
}

/// The log of `amount` of `mint` between `a` and `b` under `topic`.
pub fn amount_log(mint: &Mint, topic: [u8; 32], a: &IdCom, b: &IdCom, amount: u128) -> Log {
    Log { source: *mint, topics: vec![topic, *a, *b], data: amount.to_be_bytes().to_vec() }
}

/// `Transfer` logs that explain net balance changes of one mint (a VM that changes balances
/// wholesale, like the SVM's token accounts, knows only the nets): each loser's decrease is
/// paired with gainers' increases in the order given; what no loser covers is minted (from
/// zero), what no gainer takes is burned (to zero). Zero nets emit nothing.
pub fn transfers_from_nets(mint: &Mint, nets: &[(IdCom, i128)]) -> Vec<Log> {
    let mut losers: Vec<(IdCom, u128)> =
        nets.iter().filter(|(_, n)| *n < 0).map(|(id, n)| (*id, n.unsigned_abs())).collect();
    let mut gainers: Vec<(IdCom, u128)> =
        nets.iter().filter(|(_, n)| *n > 0).map(|(id, n)| (*id, n.unsigned_abs())).collect();
    let mut logs = Vec::new();
    let (mut l, mut g) = (0, 0);
    while l < losers.len() && g < gainers.len() {
        let amount = losers[l].1.min(gainers[g].1);
        logs.push(amount_log(mint, transfer_topic(), &losers[l].0, &gainers[g].0, amount));
        losers[l].1 -= amount;
        gainers[g].1 -= amount;
        if losers[l].1 == 0 {
            l += 1;
        }
        if gainers[g].1 == 0 {
            g += 1;
        }
    }
    for (id, left) in gainers[g..].iter().filter(|(_, left)| *left > 0) {
        logs.push(amount_log(mint, transfer_topic(), &[0; 32], id, *left));
    }
    for (id, left) in losers[l..].iter().filter(|(_, left)| *left > 0) {
        logs.push(amount_log(mint, transfer_topic(), id, &[0; 32], *left));
    }
    logs
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn moves(logs: &[Log]) -> Vec<(u8, u8, u128)> {
        logs.iter()
            .map(|l| {
                let amount = u128::from_be_bytes(l.data.as_slice().try_into().unwrap_or_default());
                (l.topics[1][0], l.topics[2][0], amount)
            })
            .collect()
    }

    #[test]
    fn a_transfer_a_mint_and_a_burn() {
        let mint = [9; 32];
        assert_eq!(moves(&transfers_from_nets(&mint, &[([1; 32], -5), ([2; 32], 5)])), [(1, 2, 5)]);
        assert_eq!(moves(&transfers_from_nets(&mint, &[([2; 32], 7)])), [(0, 2, 7)]);
        assert_eq!(
            moves(&transfers_from_nets(&mint, &[([1; 32], -9), ([2; 32], 4), ([3; 32], 0)])),
            [(1, 2, 4), (1, 0, 5)]
        );
    }

    proptest! {
        /// Replaying the logs reproduces every net change, and no log moves nothing.
        #[test]
        fn logs_account_for_every_net(nets in proptest::collection::vec(-1000i128..1000, 0..8)) {
            let nets: Vec<(IdCom, i128)> =
                nets.iter().enumerate().map(|(i, n)| ([i as u8 + 1; 32], *n)).collect();
            let logs = transfers_from_nets(&[9; 32], &nets);
            let mut replay = vec![0i128; nets.len() + 1];
            for (from, to, amount) in moves(&logs) {
                prop_assert!(amount > 0);
                replay[usize::from(from)] -= amount as i128;
                replay[usize::from(to)] += amount as i128;
            }
            for (i, (_, n)) in nets.iter().enumerate() {
                prop_assert_eq!(replay[i + 1], *n);
            }
        }
    }
}
