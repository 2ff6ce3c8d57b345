//! Union-find over dense address ids: flat arrays, path halving, union by
//! size, and the smallest address id of each set kept as its stable name.

use chain_adapters::ledger::AddrId;

/// Disjoint sets of addresses.
#[derive(Debug, Clone, Default)]
pub struct UnionFind {
    parent: Vec<AddrId>,
    size: Vec<u32>,
    /// For a root: the smallest address id in its set (the cluster id).
    min: Vec<AddrId>,
}

impl UnionFind {
    /// `n` singleton sets.
    pub fn new(n: usize) -> Self {
        let mut uf = UnionFind::default();
        uf.grow(n);
        uf
    }

    /// Rebuilds the sets from a stored assignment: `cluster[a]` is the
    /// cluster id (smallest member) of address `a`.
    pub fn from_clusters(cluster: Vec<AddrId>) -> Self {
        let mut size = vec![0u32; cluster.len()];
        for &c in &cluster {
            size[c as usize] += 1;
        }
        UnionFind {
            min: (0..cluster.len() as AddrId).collect(),
            parent: cluster,
            size,
        }
    }

    /// Adds singleton sets until there are `n` addresses.
    pub fn grow(&mut self, n: usize) {
        let from = self.parent.len();
        if n > from {
            self.parent.extend(from as AddrId..n as AddrId);
            self.size.resize(n, 1);
            self.min.extend(from as AddrId..n as AddrId);
        }
    }

    /// Number of addresses.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Whether there are no addresses.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// The root of `a`'s set (halving the path on the way).
    pub fn find(&mut self, mut a: AddrId) -> AddrId {
        while self.parent[a as usize] != a {
            let grand = self.parent[self.parent[a as usize] as usize];
            self.parent[a as usize] = grand;
            a = grand;
        }
        a
    }

    /// The cluster id of `a`: the smallest address id in its set.
    pub fn cluster(&mut self, a: AddrId) -> AddrId {
        let r = self.find(a);
        self.min[r as usize]
    }

    /// Size of `a`'s set.
    pub fn size(&mut self, a: AddrId) -> u32 {
        let r = self.find(a);
        self.size[r as usize]
    }

    /// The cluster id and size of `a`'s set, with one walk to its root.
    pub fn cluster_and_size(&mut self, a: AddrId) -> (AddrId, u32) {
        let r = self.find(a) as usize;
        (self.min[r], self.size[r])
    }

    /// Joins the sets of two roots; returns the new root.
    pub fn union_roots(&mut self, ra: AddrId, rb: AddrId) -> AddrId {
        debug_assert!(ra != rb);
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        self.min[big as usize] = self.min[big as usize].min(self.min[small as usize]);
        big
    }

    /// The cluster id of every address.
    pub fn clusters(&mut self) -> Vec<AddrId> {
        (0..self.parent.len() as AddrId)
            .map(|a| self.cluster(a))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_keep_the_smallest_member_as_cluster_id() {
        let mut uf = UnionFind::new(6);
        let (r4, r2) = (uf.find(4), uf.find(2));
        uf.union_roots(r4, r2);
        let (r5, r4) = (uf.find(5), uf.find(4));
        uf.union_roots(r5, r4);
        assert_eq!(uf.clusters(), vec![0, 1, 2, 3, 2, 2]);
        assert_eq!(uf.size(5), 3);
        assert_eq!(uf.cluster_and_size(5), (2, 3));
        assert_eq!(uf.cluster_and_size(3), (3, 1));
        let mut again = UnionFind::from_clusters(uf.clusters());
        assert_eq!(again.size(4), 3);
        let (r1, r5) = (again.find(1), again.find(5));
        again.union_roots(r1, r5);
        again.grow(8);
        assert_eq!(again.clusters(), vec![0, 1, 1, 3, 1, 1, 6, 7]);
    }
}
